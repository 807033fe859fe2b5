import Foundation

/// Runs the `slkd` executable built with this test bundle (it sits beside the bundle in the build
/// folder). There is deliberately no fallback to another build folder: a binary left there by an
/// earlier build could be stale, and a tool test must drive the code it was built from.
struct ToolRunner {
    struct ExecutableNotBuilt: Error, CustomStringConvertible {
        var searched: [String]
        var description: String { "slkd was not built beside the test bundle (looked in \(searched.joined(separator: ", ")))" }
    }

    struct Result {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    static let executable: Swift.Result<URL, ExecutableNotBuilt> = {
        var folder = Bundle.main.bundleURL
        var searched: [String] = []
        // swift-testing runs inside the .xctest bundle or its host; walk up to the build folder.
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("slkd")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return .success(candidate) }
            searched.append(folder.path)
            folder.deleteLastPathComponent()
        }
        return .failure(ExecutableNotBuilt(searched: searched))
    }()

    /// The package root (for committed fixtures).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = try executable.get()
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, standardOutput: String(decoding: stdout, as: UTF8.self),
                      standardError: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
