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

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptCoversTheCommands(_ shell: String) throws {
        let r = try ToolRunner.run(["--generate-completion-script", shell])
        #expect(r.status == 0)
        // fish names long options without their dashes ("-l threads").
        for word in ["distill", "restore", "threads"] { #expect(r.standardOutput.contains(word), "\(shell): \(word)") }
    }
}
