import Foundation
import Testing
import SLKDTensor
import SLKDModels

@Suite("slkd command-line tool", .serialized)
struct ToolCommandTests {
    static let samples = ToolRunner.packageRoot.appendingPathComponent("Sources/SLKDDistill/Resources/SampleImages")
    static let checkpoints = ToolRunner.packageRoot.appendingPathComponent("Tests/SLKDModelsTests/Vectors/checkpoints")

    @Test func helpListsCommandsWithExamples() throws {
        let r = try ToolRunner.run(["--help"])
        #expect(r.status == 0)
        #expect(r.standardOutput.contains("iqa") && r.standardOutput.contains("convert"))
        let sub = try ToolRunner.run(["iqa", "--help"])
        #expect(sub.standardOutput.contains("Examples:"))
    }

    @Test func iqaReportsScoresAsJSON() throws {
        let folder = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A noisy copy of a sample image, written with the library, against its clean original.
        let clean = try Tensor.readPNG(at: Self.samples.appendingPathComponent("coins.png"))
        let crop = clean.narrowed(axis: 1, start: 0, length: 96).narrowed(axis: 2, start: 0, length: 128)
        var rng = RandomGenerator(seed: 1)
        let noisy = (crop + Tensor.normal(crop.shape, std: 0.05, using: &rng)).clamp(min: 0, max: 1)
        let cleanURL = folder.appendingPathComponent("clean.png"), noisyURL = folder.appendingPathComponent("noisy.png")
        try crop.writePNG(to: cleanURL)
        try noisy.writePNG(to: noisyURL)

        let r = try ToolRunner.run(["iqa", noisyURL.path, "--reference", cleanURL.path, "--json",
                                    "--masks", folder.appendingPathComponent("masks").path])
        #expect(r.status == 0, "\(r.standardError)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [[String: Any]])
        let report = try #require(reports.first)
        let brisque = try #require(report["brisque"] as? [String: Any])
        #expect((brisque["features"] as? [Double])?.count == 36)
        let piqe = try #require(report["piqe"] as? [String: Any])
        #expect(piqe["active_blocks"] is Int)
        // PSNR of σ = 0.05 noise (clipping aside): 10·log10(1/0.0025) ≈ 26 dB.
        let psnr = try #require(report["psnr"] as? Double)
        #expect(psnr > 24 && psnr < 28.5)
        #expect(report["ssim_y"] is Double && report["psnr_y"] is Double)
        let masks = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("masks").path)
        #expect(Set(masks) == ["noisy_piqe_activity.png", "noisy_piqe_artifacts.png", "noisy_piqe_noise.png"])
    }

    @Test func missingInputIsOneClearLine() throws {
        let r = try ToolRunner.run(["iqa", "/nonexistent/photo.png"])
        #expect(r.status != 0)
        let lines = r.standardError.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("/nonexistent/photo.png"))
    }

    @Test func convertWritesSafetensorsInFileOrder() throws {
        let folder = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("weights.safetensors")
        let source = Self.checkpoints.appendingPathComponent("basicsr_params.pth")
        let r = try ToolRunner.run(["convert", source.path, out.path])
        #expect(r.status == 0, "\(r.standardError)")
        let contents = try SafeTensors.read(from: out)
        let original = try PyTorchCheckpoint.loadStateDict(from: source)
        #expect(contents.names == original.keys && !contents.names.isEmpty)
        for key in original.keys { #expect(contents.tensors[key]!.doubles == original.tensors[key]!.doubles) }
    }

    @Test func hostileCheckpointIsRefusedAndNothingIsWritten() throws {
        let folder = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("weights.safetensors")
        let r = try ToolRunner.run(["convert", Self.checkpoints.appendingPathComponent("global_posix_system.pth").path, out.path])
        #expect(r.status != 0)
        #expect(r.standardError.contains("posix"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}

extension ToolCommandTests {
    @Test func profileReportsParametersAndMACsAsJSON() throws {
        let r = try ToolRunner.run(["profile", "res-sl", "--runs", "1", "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        #expect(object["model"] as? String == "res-sl")
        #expect(object["parameters"] as? Int == 3_537_482)
        // fvcore, at 128²: conv 4.851 G + matmul 0.462 G (models README, by operator).
        let macs = try #require(object["macs"] as? Int)
        #expect(abs(Double(macs) / 1e9 - 5.3139) < 0.0005)
        #expect(object["input"] as? [Int] == [1, 3, 128, 128])
        let stages = try #require(object["stages"] as? [[String: Any]])
        #expect(stages.contains { $0["name"] as? String == "refinement" && $0["macs"] is Int && $0["parameters"] is Int })
    }

    @Test func profileRejectsUnknownNames() throws {
        let r = try ToolRunner.run(["profile", "resnet50"])
        #expect(r.status != 0)
        #expect(r.standardError.contains("resnet50"))
    }
}
