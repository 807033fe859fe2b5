import Foundation
import SLKDModels
import SLKDTensor
import Testing

/// `slkd --version`, `--threads` on every compute command and the completion script.
@Suite("slkd --version, --threads, completion")
struct CLIBasicsTests {
    static let computeCommands = ["demo", "train", "distill", "restore", "eval", "profile", "iqa"]

    @Test func versionIsTheOneTheReadmeDocuments() throws {
        let r = try ToolRunner.run(["--version"])
        #expect(r.status == 0)
        #expect(r.standardOutput == "0.1.0\n")
        // The README's dependency line names the same version.
        let readme = try String(contentsOf: ToolRunner.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("from: \"0.1.0\""))
    }

    @Test(arguments: computeCommands)
    func everyComputeCommandTakesThreads(_ command: String) throws {
        let help = try ToolRunner.run([command, "--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("--threads <n>"), "\(command) --help lacks --threads")
    }

    @Test func threadsBelowOneIsRefusedInOneLine() throws {
        for arguments in [["profile", "res-sl", "--threads", "0"], ["demo", "--quick", "--threads=-2"]] {
            let r = try ToolRunner.run(arguments)
            #expect(r.status == 64, "\(arguments)")  // EX_USAGE, ArgumentParser's validation failure
            #expect(r.standardError.hasPrefix("Error: --threads must be at least 1, got \(arguments.last!.replacingOccurrences(of: "--threads=", with: ""))\n"))
        }
        let notANumber = try ToolRunner.run(["profile", "res-sl", "--threads", "two"])
        #expect(notANumber.status == 64)
        #expect(notANumber.standardError.contains("'two'"))
    }

    @Test func oneThreadRuns() throws {
        let r = try ToolRunner.run(["profile", "res-sl", "--size", "16", "16", "--runs", "1", "--threads", "1", "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        let expected = try ModelPreset.resSL.build().namedParameters().reduce(0) { $0 + $1.tensor.count }
        #expect(json["parameters"] as? Int == expected)
        #expect(json["input"] as? [Int] == [1, 3, 16, 16])
    }

    /// The text profile ends with what it ran on: the thread count asked for, and the kernels this
    /// process (the same CPU and environment) reports.
    @Test func profileNamesItsKernels() throws {
        let r = try ToolRunner.run(["profile", "res-sl", "--size", "16", "16", "--runs", "1", "--threads", "1"])
        #expect(r.status == 0, "\(r.standardError)")
        let last = r.standardOutput.split(separator: "\n").last.map(String.init)
        // The path the child chose at start-up (SIMDPath.active here may be switched by a SIMD test).
        let path = SIMDPath.resolve(ProcessInfo.processInfo.environment["SLKD_SIMD"], widest: SIMDPath.widestSupported).path
        #expect(last == "threads 1, OpenBLAS kernels \(BLASKernels.summary), SLKD kernels \(path)")
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptCoversTheCommands(_ shell: String) throws {
        let r = try ToolRunner.run(["--generate-completion-script", shell])
        #expect(r.status == 0)
        // fish names long options without their dashes ("-l threads").
        for word in ["distill", "restore", "threads"] { #expect(r.standardOutput.contains(word), "\(shell): \(word)") }
    }
}

/// slkd-bench's command line (ArgumentParser): numbers are checked, options documented.
@Suite("slkd-bench arguments")
struct BenchArgumentTests {
    /// Runs the slkd-bench built beside slkd.
    static func bench(_ arguments: [String]) throws -> ToolRunner.Result {
        let process = Process()
        process.executableURL = try ToolRunner.executable.get().deletingLastPathComponent().appendingPathComponent("slkd-bench")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return .init(status: process.terminationStatus, standardOutput: String(decoding: stdout, as: UTF8.self),
                     standardError: String(decoding: stderr, as: UTF8.self))
    }

    @Test func badNumbersAreErrorsNotDefaults() throws {
        for (arguments, message) in [(["--seconds", "abc"], "The value 'abc' is invalid for '--seconds <s>'"),
                                     (["--batch", "8x"], "The value '8x' is invalid for '--batch <n>'"),
                                     (["--threads", "0"], "--threads must be at least 1, got 0"),
                                     (["--seconds", "0"], "--seconds must be a positive number of seconds, got 0.0"),
                                     (["--frobnicate"], "Unknown option '--frobnicate'")] {
            let r = try Self.bench(arguments)
            #expect(r.status == 64, "\(arguments)")
            #expect(r.standardError.hasPrefix("Error: \(message)"), "\(arguments): \(r.standardError)")
        }
    }

    @Test func helpAndVersion() throws {
        let version = try Self.bench(["--version"])
        #expect(version.status == 0 && version.standardOutput == "0.1.0\n")
        let help = try Self.bench(["--help"])
        #expect(help.status == 0)
        for option in ["--filter", "--json", "--seconds", "--threads", "--distill-step", "--batch", "--patch", "--steps",
                       "--batched-teachers", "--teacher-slice", "--no-memory-cache"] {
            #expect(help.standardOutput.contains(option), "--help lacks \(option)")
        }
    }

    @Test func filterRunsOnlyTheNamedCases() throws {
        let folder = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("bench.json")
        let r = try Self.bench(["--filter", "sgemm_256,matmul_256", "--seconds", "0.01", "--threads", "1", "--json", json.path])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(r.standardOutput.contains("slkd-bench: 1 threads"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        #expect(report["threads"] as? Int == 1)
        let names = (report["results"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["sgemm_256", "matmul_256"])
    }
}
