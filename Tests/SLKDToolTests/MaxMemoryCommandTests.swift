import Foundation
import Testing
import SLKDModels
import SLKDTensor

/// `--max-memory`: one budget for everything a command reads. A file over it is refused in one
/// line naming the file and the budget; the limit is exact (the tensor bytes the file holds pass,
/// one byte less does not); values that are not a positive byte count are refused by the parser.
@Suite("slkd --max-memory", .serialized)
struct MaxMemoryCommandTests {
    /// Tensor bytes of a state dict, counted from the tensors themselves (elements × dtype size).
    static func tensorBytes(_ tensors: some Sequence<Tensor>) -> Int {
        tensors.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
    }

    @Test func weightsOverTheBudgetAreOneLineNamingTheFileAndTheBudget() throws {
        let f = try RestoreEvalCommandTests.Fixture()
        defer { f.remove() }
        let state = try f.model(seed: 5).stateDictionary()
        let weights = f.url("net_g.safetensors")
        try SafeTensors.write(state, to: weights)
        let bytes = Self.tensorBytes(state.values)
        try #require(bytes > 4096)
        func restore(_ budget: String) throws -> ToolRunner.Result {
            try ToolRunner.run(["restore", "--options", f.options.path, "--weights", weights.path, f.image.path,
                                "--output", f.url("out-\(budget)").path, "--max-memory", budget])
        }
        let refused = try restore("\(bytes - 1)")
        HostileInputCommandTests.expectRefusal(refused, "over the read budget of \(bytes - 1)")
        #expect(refused.standardError.contains(weights.path), "\(refused.standardError)")
        #expect(!FileManager.default.fileExists(atPath: f.url("out-\(bytes - 1)").path))
        // The image (37×29 at 48 bytes a pixel) must fit as well.
        let admitted = try restore("\(max(bytes, 1073 * 48))")
        #expect(admitted.status == 0, "\(admitted.standardError)")
        // Suffixes are powers of 1024.
        HostileInputCommandTests.expectRefusal(try restore("4K"), "over the read budget of 4096")
        #expect(try restore("\(max(bytes, 1073 * 48) / 1024 + 1)k").status == 0)
    }

    @Test func convertReadsThePthUnderTheBudget() throws {
        let checkpoint = RestoreEvalCommandTests.sharedCheckpoints.appendingPathComponent("checkpoints/restormer_tiny_withbias.pth")
        let bytes = Self.tensorBytes(try PyTorchCheckpoint.load(from: checkpoint).values)
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out.safetensors")
        let refused = try ToolRunner.run(["convert", checkpoint.path, out.path, "--max-memory", "\(bytes - 1)"])
        HostileInputCommandTests.expectRefusal(refused, "over the read budget of \(bytes - 1)")
        #expect(refused.standardError.contains(checkpoint.path), "\(refused.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let converted = try ToolRunner.run(["convert", checkpoint.path, out.path, "--max-memory", "\(bytes)"])
        #expect(converted.status == 0, "\(converted.standardError)")
    }

    @Test func aResumedCheckpointIsReadUnderTheBudget() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let (options, run) = try TrainingCommandTests.trainTinyRun(in: root)
        let checkpoint = run.appendingPathComponent("training_states/latest.safetensors")
        let bytes = Self.tensorBytes(try SafeTensors.read(from: checkpoint).tensors.values)
        let resumed = try ToolRunner.run(["train", "--options", options.path, "--resume", checkpoint.path,
                                          "--max-memory", "\(bytes - 1)"])
        HostileInputCommandTests.expectRefusal(resumed, "over the read budget of \(bytes - 1)")
        #expect(resumed.standardError.contains(checkpoint.path), "\(resumed.standardError)")
    }

    @Test func imagesAreRefusedFromTheirHeaderNamingTheBudget() throws {
        let f = try RestoreEvalCommandTests.Fixture()
        defer { f.remove() }
        // The fixture is 37×29 = 1073 pixels; iqa allows 48 bytes a pixel (four float32 copies
        // of an RGB pixel), so 1073 · 48 bytes admit it and one byte less allows 1072 pixels.
        let exact = 1073 * 48
        let refused = try ToolRunner.run(["iqa", f.image.path, "--max-memory", "\(exact - 1)"])
        HostileInputCommandTests.expectRefusal(
            refused, "37×29 is 1073 pixels, over the limit of 1072 (--max-memory \(exact - 1) bytes at 48 bytes a pixel)")
        #expect(try ToolRunner.run(["iqa", f.image.path, "--max-memory", "\(exact)"]).status == 0)
        // restore allows four float32 copies of the network's channels: 4 · 4 · 3 bytes as well.
        let out = f.url("out").path
        let restore = try ToolRunner.run(["restore", "--options", f.options.path, "--random-weights", f.image.path,
                                          "--output", out, "--max-memory", "\(exact - 1)"])
        HostileInputCommandTests.expectRefusal(restore, "over the limit of 1072 (--max-memory \(exact - 1) bytes at 48 bytes a pixel)")
        // eval reads its test pairs under the same limit.
        let data = try RestoreEvalCommandTests.pairedFolder(in: f, inputs: ["a.png": try Tensor.readPNG(at: f.image)],
                                                            targets: ["a.png": try Tensor.readPNG(at: f.image)])
        let eval = try ToolRunner.run(["eval", "--options", f.options.path, "--random-weights", "--data", data.path,
                                       "--output", f.url("report").path, "--max-memory", "\(exact - 1)"])
        HostileInputCommandTests.expectRefusal(eval, "over the limit of 1072 (--max-memory \(exact - 1) bytes at 48 bytes a pixel)")
    }

    @Test(arguments: [
        ("-3", "a memory budget must be positive"),
        ("0", "a memory budget must be positive"),
        ("12Q", "unknown unit 'Q'"),
        ("2GB0", "unknown unit"),
        ("lots", "give a positive number of bytes"),
        ("99999999999T", "is more than 9223372036854775807 bytes"),
        ("99999999999999999999", "is too large"),
    ])
    func badValuesAreRefusedByTheParser(value: String, reason: String) throws {
        let f = try RestoreEvalCommandTests.Fixture()
        defer { f.remove() }
        let r = try ToolRunner.run(["restore", "--options", f.options.path, "--random-weights", f.image.path,
                                    "--output", f.url("out").path, "--max-memory", value])
        #expect(r.status != 0)
        #expect(r.standardError.contains("The value '\(value)' is invalid for '--max-memory <bytes>': "), "\(r.standardError)")
        #expect(r.standardError.contains(reason), "\(r.standardError)")
        #expect(!FileManager.default.fileExists(atPath: f.url("out").path))
    }
}
