import Foundation

/// The one place where SLKD reads a whole input file into memory, so that every command reports
/// a missing file, a folder or an oversized file the same way: one line naming the path and the
/// cause (Foundation's own errors read "NSCocoaErrorDomain error 256").
public enum InputFile {
    /// Reads the regular file at `url`.
    ///
    /// - Parameters:
    ///   - url: the file.
    ///   - maximumBytes: refuse files larger than this before reading them.
    /// - Throws: ``InputFileError`` naming the path: it does not exist, is a folder or another
    ///   non-regular file, cannot be opened (with the system's reason), or is too large.
    public static func read(_ url: URL, maximumBytes: Int = .max) throws(InputFileError) -> Data {
        let path = url.path
        let size = try regularFileSize(path)
        guard size <= maximumBytes else { throw InputFileError(path: path, reason: "\(size) bytes is over the \(maximumBytes)-byte limit") }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw InputFileError(path: path, reason: "cannot be read (\(posixReason(of: error) ?? "I/O error"))")
        }
    }

    /// The size of the regular file at `path`; throws a one-line reason otherwise.
    public static func regularFileSize(_ path: String) throws(InputFileError) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            throw InputFileError(path: path, reason: code == ENOENT ? "does not exist" : String(cString: strerror(code)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw InputFileError(path: path, reason: "is a folder, not a file")
        default: throw InputFileError(path: path, reason: "is not a regular file")
        }
        guard access(path, R_OK) == 0 else { throw InputFileError(path: path, reason: String(cString: strerror(errno))) }
        return Int(info.st_size)
    }

    /// The POSIX reason inside a Foundation file error, when it carries one.
    static func posixReason(of error: any Error) -> String? {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        guard let code = underlying?.domain == NSPOSIXErrorDomain ? underlying?.code : nil else { return nil }
        return String(cString: strerror(Int32(code)))
    }
}

/// An input file that cannot be read: the path and why, in one line.
public struct InputFileError: Error, CustomStringConvertible, Equatable {
    /// The path as given.
    public var path: String
    /// Why, e.g. "does not exist", "is a folder, not a file", "Permission denied".
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
