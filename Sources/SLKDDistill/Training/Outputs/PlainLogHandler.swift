import Foundation
import Logging

/// A swift-log handler writing one plain line per message — time, level, message, metadata as
/// `key value` pairs — to standard output, a file, or both: the `train_<name>_<time>.log` file
/// BasicSR users look for, and the same lines on the terminal.
///
/// ```swift
/// let file = try LogFile(url: root.appendingPathComponent("train_demo_20261206_101500.log"))
/// let logger = Logger(label: "slkd.train") { _ in PlainLogHandler(file: file, echo: true) }
/// ```
public struct PlainLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    /// The file lines are appended to, if any.
    public let file: LogFile?
    /// Whether lines also go to standard output.
    public let echo: Bool

    public init(file: LogFile?, echo: Bool) {
        self.file = file
        self.echo = echo
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// One line: the message, then the handler's and the event's metadata (the event's win).
    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let pairs = all.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        let text = ([event.message.description] + pairs).joined(separator: " · ")
        if echo { print(text) }
        file?.append("\(LogFile.timestamp()) \(event.level.rawValue.uppercased()): \(text)")
    }
}

/// A text file that log lines are appended to, one at a time and from any thread.
public final class LogFile: @unchecked Sendable {
    /// The file.
    public let url: URL
    private let handle: FileHandle
    private let lock = NSLock()

    /// Opens `url` for appending, creating it and its folder.
    public init(url: URL) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Appends `line` and a newline. A failed write is dropped: logging never stops training.
    public func append(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        try? handle.write(contentsOf: Data((line + "\n").utf8))
    }

    /// The log's name for a run started now, as BasicSR names it: `train_<name>_<yyyyMMdd_HHmmss>.log`.
    public static func trainingLogName(run name: String, at date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        return "train_\(name)_\(formatter.string(from: date)).log"
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss,SSS"
        return formatter.string(from: date)
    }
}
