import Foundation
import Testing
import SLKDDistill
import SLKDModels
import SLKDTensor

/// `slkd weights list` and `--arch demo-teacher` in restore, profile and as a distillation teacher.
@Suite("slkd weights and bundled networks", .serialized)
struct BundledWeightsCommandTests {
    @Test func listShowsTheDemoTeacherWithItsParameterCount() throws {
        let expected = try BundledWeights.named("demo-teacher").loadModel().parameterCount
        let table = try ToolRunner.run(["weights", "list"])
        #expect(table.status == 0, "\(table.standardError)")
        #expect(table.standardOutput.hasPrefix("demo-teacher  \(expected) parameters  Restormer"))
        let json = try ToolRunner.run(["weights", "list", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
        #expect(entries.count == 1 && entries[0]["name"] as? String == "demo-teacher" && entries[0]["parameters"] as? Int == expected)
    }

    /// Restoring with the bundled teacher gives what the library gives with the same weights.
    @Test func restoreWithTheBundledTeacher() throws {
        let folder = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sample = ToolRunner.packageRoot.appendingPathComponent("Sources/SLKDDistill/Resources/SampleImages/camera.png")
        let image = try Tensor.readImage(at: sample, channels: .rgb).narrowed(axis: 1, start: 60, length: 40)
            .narrowed(axis: 2, start: 80, length: 48).contiguous()
        let input = folder.appendingPathComponent("crop.jpg")
        try image.writeImage(to: input)
        let out = folder.appendingPathComponent("out.safetensors")
        let r = try ToolRunner.run(["restore", "--arch", "demo-teacher", input.path, "--output", out.path])
        #expect(r.status == 0, "\(r.standardError)")
        let model = try BundledWeights.named("demo-teacher").loadModel()
        let expected = try restore(image: try Tensor.readImage(at: input, channels: .rgb).unsqueezed(axis: 0), with: model)
        let got = try #require(try SafeTensors.read(from: out)["image"])
        #expect(got.shape == expected.shape)
        #expect(zip(got.floats, expected.floats).map { abs($0 - $1) }.max() ?? 1 < 1e-5)

        let both = try ToolRunner.run(["restore", "--arch", "demo-teacher", "--weights", out.path, input.path, "--output", folder.path])
        #expect(both.status != 0 && both.standardError.contains("bundled weights are loaded already"))
    }

    @Test func profileTakesTheBundledName() throws {
        let r = try ToolRunner.run(["profile", "--arch", "demo-teacher", "--size", "32", "32", "--runs", "1", "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        #expect(object["parameters"] as? Int == (try BundledWeights.named("demo-teacher").loadModel().parameterCount))
    }

    /// `network_teacher: {type: bundled, name: demo-teacher}` needs no pretrain path.
    @Test func distillFromTheBundledTeacher() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try TrainingCommandTests.makePairedFolder(in: data)
        let extra = """
            network_teacher: {type: bundled, name: demo-teacher}
            distill:
              method: output_kd
            """
        let options = root.appendingPathComponent("distill.yml")
        try TrainingCommandTests.options(data: data, experiments: root.appendingPathComponent("run"), extra: extra)
            .write(to: options, atomically: true, encoding: .utf8)
        let r = try ToolRunner.run(["distill", "--options", options.path])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(r.standardOutput.contains("step 3"))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("run/models/net_g_latest.safetensors").path))
    }
}
