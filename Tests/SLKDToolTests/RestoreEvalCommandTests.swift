import Foundation
import Testing
import SLKDTensor
import SLKDModels
import SLKDTestSupport

/// `slkd restore` and `slkd eval`, driven through the built executable on a tiny Restormer.
@Suite("slkd restore and eval", .serialized)
struct RestoreEvalCommandTests {
    /// A Restormer small enough that a forward pass on a 37×29 image takes milliseconds.
    static func tinyOptions(channels: Int = 3, dim: Int = 8) -> String {
        """
        # BasicSR options: only network_g matters here.
        network_g:
          type: Restormer
          inp_channels: \(channels)
          out_channels: \(channels)
          dim: \(dim)
          num_blocks: [1, 1, 1, 1]
          num_refinement_blocks: 1
          heads: [1, 1, 1, 1]
          ffn_expansion_factor: 2.66
          bias: false
          LayerNorm_type: WithBias
        """
    }

    /// A temporary folder with the tiny options file and a 37×29 crop of a sample photograph.
    struct Fixture {
        let folder: URL
        let options: URL
        let image: URL

        init(channels: Int = 3) throws {
            folder = try ToolRunner.temporaryFolder()
            options = folder.appendingPathComponent("tiny.yml")
            try tinyOptions(channels: channels).write(to: options, atomically: true, encoding: .utf8)
            image = folder.appendingPathComponent("photo.png")
            try Self.crop(top: 100, left: 150, height: 29, width: 37).writePNG(to: image)
        }

        /// A crop of the astronaut sample, RGB in [0, 1].
        static func crop(top: Int, left: Int, height: Int, width: Int) throws -> Tensor {
            let photo = try Tensor.readPNG(at: ToolCommandTests.samples.appendingPathComponent("astronaut.png"), channels: .rgb)
            return photo.narrowed(axis: 1, start: top, length: height).narrowed(axis: 2, start: left, length: width).contiguous()
        }

        func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

        func remove() { try? FileManager.default.removeItem(at: folder) }

        /// The network the tool builds from the options file (same seed), in eval mode.
        func model(seed: UInt64 = 0, channels: Int = 3) throws -> any RestorationModel {
            let model = try NetworkOptions.build(yaml: tinyOptions(channels: channels), seed: seed)
            model.eval()
            return model
        }
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape)")
        return zip(a.doubles, b.doubles).map { abs($0 - $1) }.max() ?? 0
    }

    static func expectOneLineError(_ r: ToolRunner.Result, naming subject: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0, sourceLocation: sourceLocation)
        let lines = r.standardError.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.standardError)", sourceLocation: sourceLocation)
        #expect(r.standardError.contains(subject), "stderr: \(r.standardError)", sourceLocation: sourceLocation)
    }

    @Test func helpHasExamples() throws {
        for command in ["restore", "eval"] {
            let r = try ToolRunner.run([command, "--help"])
            #expect(r.status == 0)
            #expect(r.standardOutput.contains("Examples:") && r.standardOutput.contains("slkd \(command) --"))
            #expect(r.standardOutput.contains("--weights") && r.standardOutput.contains("--tile"))
        }
        #expect(try ToolRunner.run(["--help"]).standardOutput.contains("restore"))
    }

    // MARK: restore

    /// An odd-sized image comes back at its size, equal (to 8-bit rounding) to the library's
    /// `restore(image:with:)` with the same network.
    @Test func restoresOddSizedImageLikeTheLibrary() throws {
        let f = try Fixture()
        defer { f.remove() }
        let out = f.url("out/nested")
        let r = try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, f.image.path, "--output", out.path])
        #expect(r.status == 0, "\(r.standardError)")
        let written = try ImageIO.readPNG(at: out.appendingPathComponent("photo.png"))
        #expect(written.info.width == 37 && written.info.height == 29 && written.info.storedChannels == 3)

        let expected = try restore(image: try Tensor.readPNG(at: f.image), with: try f.model())
        // The PNG clamps to [0, 1] and rounds to 1/255 (a value on a rounding tie may go either way).
        #expect(Self.maxDifference(written.pixels, expected.clamp(min: 0, max: 1)) <= 0.5 / 255 + 1e-6)
        // The network is not the identity: the check above would fail for a copied input.
        #expect(Self.maxDifference(expected, try Tensor.readPNG(at: f.image)) > 0.01)
    }

    /// `.safetensors` output holds the float image (1×C×H×W float32); tiles covering the whole
    /// padded image reproduce whole-image inference, smaller tiles equal the library's tiling.
    @Test func tiledAndTensorOutputs() throws {
        let f = try Fixture()
        defer { f.remove() }
        func run(_ extra: [String], _ name: String) throws -> Tensor {
            let out = f.url(name)
            let r = try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, f.image.path, "--output", out.path] + extra)
            #expect(r.status == 0, "\(r.standardError)")
            let contents = try SafeTensors.read(from: out)
            #expect(contents.names == ["image"])
            #expect(contents.storedTypes["image"] == .f32)
            return try #require(contents["image"])
        }
        let whole = try run([], "whole.safetensors")
        #expect(whole.shape == [1, 3, 29, 37])
        let input = try Tensor.readPNG(at: f.image)
        let model = try f.model()
        #expect(Self.maxDifference(whole, try restore(image: input.unsqueezed(axis: 0), with: model)) < 1e-5)

        // 29×37 pads to 32×40: a 64 tile is one tile, the whole padded image.
        let oneTile = try run(["--tile", "64"], "one-tile.safetensors")
        #expect(Self.maxDifference(oneTile, whole) < 1e-6)

        let tiled = try run(["--tile", "16", "--tile-overlap", "8"], "tiled.safetensors")
        let library = try restore(image: input.unsqueezed(axis: 0), with: model, tiling: Tiling(tile: 16, overlap: 8))
        #expect(Self.maxDifference(tiled, library) < 1e-5)
        // Restormer's channel attention sees the whole input, so 16² tiles really change the result.
        #expect(Self.maxDifference(tiled, whole) > 1e-4)
        // --tile-blend centre takes each pixel from one tile, as the library's centre blend does.
        let centre = try run(["--tile", "16", "--tile-overlap", "8", "--tile-blend", "centre"], "centre.safetensors")
        let libraryCentre = try restore(image: input.unsqueezed(axis: 0), with: model,
                                        tiling: Tiling(tile: 16, overlap: 8, blend: .centre))
        #expect(Self.maxDifference(centre, libraryCentre) < 1e-5)
        #expect(Self.maxDifference(centre, tiled) > 1e-6)
    }

    @Test func tileMustFitTheNetwork() throws {
        let f = try Fixture()
        defer { f.remove() }
        let out = f.url("out")
        let r = try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, f.image.path, "--output", out.path, "--tile", "12"])
        Self.expectOneLineError(r, naming: "--tile 12")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// A folder input restores every PNG in it (other files ignored), keeping names and sizes.
    @Test func folderInput() throws {
        let f = try Fixture()
        defer { f.remove() }
        let inputs = f.url("inputs")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try Fixture.crop(top: 0, left: 0, height: 29, width: 37).writePNG(to: inputs.appendingPathComponent("b.png"))
        // A gray file: replicated to RGB for a colour network.
        try Fixture.crop(top: 200, left: 200, height: 20, width: 13).narrowed(axis: 0, start: 0, length: 1)
            .writePNG(to: inputs.appendingPathComponent("a.png"))
        try "not an image".write(to: inputs.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let out = f.url("out")
        let r = try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, inputs.path, f.image.path, "--output", out.path])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(r.standardOutput.contains("restored 3 images"))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)) == ["a.png", "b.png", "photo.png"])
        let a = try ImageIO.readPNG(at: out.appendingPathComponent("a.png")).info
        #expect(a.width == 13 && a.height == 20 && a.storedChannels == 3)
    }

    /// A network with one input channel takes gray images and writes gray PNGs.
    @Test func grayscaleNetwork() throws {
        let f = try Fixture(channels: 1)
        defer { f.remove() }
        let out = f.url("out")
        let r = try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, f.image.path, "--output", out.path])
        #expect(r.status == 0, "\(r.standardError)")
        let written = try ImageIO.readPNG(at: out.appendingPathComponent("photo.png"))
        #expect(written.info.storedChannels == 1 && written.info.width == 37 && written.info.height == 29)
        let expected = try restore(image: try Tensor.readPNG(at: f.image, channels: .gray), with: try f.model(channels: 1))
        #expect(Self.maxDifference(written.pixels, expected.clamp(min: 0, max: 1)) <= 0.5 / 255 + 1e-6)
    }

    /// A corrupt PNG among good ones: named in one line, non-zero exit, nothing written.
    @Test func corruptInputWritesNothing() throws {
        let f = try Fixture()
        defer { f.remove() }
        let inputs = f.url("inputs")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let good = try Data(contentsOf: f.image)
        try good.write(to: inputs.appendingPathComponent("a.png"))
        try good.prefix(good.count / 2).write(to: inputs.appendingPathComponent("b.png"))  // truncated
        try good.write(to: inputs.appendingPathComponent("c.png"))
        let out = f.url("out")
        let r = try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, inputs.path, "--output", out.path])
        Self.expectOneLineError(r, naming: "b.png")
        let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(written.isEmpty)
    }

    @Test func badNetworkArgumentsAreOneLine() throws {
        let f = try Fixture()
        defer { f.remove() }
        let out = f.url("out").path
        Self.expectOneLineError(
            try ToolRunner.run(["restore", "--options", f.options.path, "--weights", "/nonexistent/net_g.pth", f.image.path, "--output", out]),
            naming: "/nonexistent/net_g.pth")
        Self.expectOneLineError(
            try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, "--arch", "res-sl", f.image.path, "--output", out]),
            naming: "--arch")
        let unknown = try ToolRunner.run(["restore", "--random-weights", "--arch", "resnet50", f.image.path, "--output", out])
        Self.expectOneLineError(unknown, naming: "resnet50")
        #expect(unknown.standardError.contains("res-sl") && unknown.standardError.contains("drsformer"))
        Self.expectOneLineError(
            try ToolRunner.run(["restore", "--random-weights", "--options", f.url("absent.yml").path, f.image.path, "--output", out]),
            naming: "absent.yml")
        Self.expectOneLineError(
            try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, f.url("absent.png").path, "--output", out]),
            naming: "absent.png")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// Weights saved from a network's own state dict load by their official names and give that
    /// network's output (not the freshly initialised one's).
    @Test func safetensorsWeightsFromStateDict() throws {
        let f = try Fixture()
        defer { f.remove() }
        let trained = try f.model(seed: 5)
        let weights = f.url("net_g.safetensors")
        try SafeTensors.write(trained.stateDictionary(), to: weights)
        let out = f.url("out.safetensors")
        let r = try ToolRunner.run(["restore", "--options", f.options.path, "--weights", weights.path, f.image.path, "--output", out.path])
        #expect(r.status == 0, "\(r.standardError)")
        let restored = try #require(try SafeTensors.read(from: out)["image"])
        let input = try Tensor.readPNG(at: f.image).unsqueezed(axis: 0)
        #expect(Self.maxDifference(restored, try restore(image: input, with: trained)) < 1e-5)
        #expect(Self.maxDifference(restored, try restore(image: input, with: try f.model(seed: 0))) > 1e-3)
    }

    /// Weights of another shape: every offending key kind is named, in one line.
    @Test func misShapedWeightsAreNamed() throws {
        let f = try Fixture()
        defer { f.remove() }
        let wider = try NetworkOptions.build(yaml: Self.tinyOptions(dim: 16))
        var state = wider.stateDictionary()
        state["extra.weight"] = Tensor.zeros([2])
        state["output.weight"] = nil
        let weights = f.url("wide.safetensors")
        try SafeTensors.write(state, to: weights)
        let r = try ToolRunner.run(["restore", "--options", f.options.path, "--weights", weights.path, f.image.path, "--output", f.url("out").path])
        Self.expectOneLineError(r, naming: "wide.safetensors")
        #expect(r.standardError.contains("1 missing keys (output.weight)"))
        #expect(r.standardError.contains("1 unexpected keys (extra.weight)"))
        #expect(r.standardError.contains("patch_embed.proj.weight: file [16, 3, 3, 3], network [8, 3, 3, 3]"))
    }

    /// The official-code golden Restormer's BasicSR `.pth` loads through `--weights`.
    @Test func officialCheckpoint() throws {
        let f = try Fixture()
        defer { f.remove() }
        let checkpoint = Self.sharedCheckpoints.appendingPathComponent("checkpoints/restormer_tiny_withbias.pth")
        let options = Self.sharedCheckpoints.appendingPathComponent("golden/restormer_tiny_withbias.yml")
        let out = f.url("out.safetensors")
        let r = try ToolRunner.run(["restore", "--options", options.path, "--weights", checkpoint.path, f.image.path, "--output", out.path])
        #expect(r.status == 0, "\(r.standardError)")
        let model = try NetworkOptions.build(contentsOf: options, seed: 9)
        try model.loadStateDictionary(try PyTorchCheckpoint.load(from: checkpoint))
        model.eval()
        let expected = try restore(image: try Tensor.readPNG(at: f.image).unsqueezed(axis: 0), with: model)
        #expect(Self.maxDifference(try #require(try SafeTensors.read(from: out)["image"]), expected) < 1e-5)
    }

    static let sharedCheckpoints = SharedReference.url("models")

    // MARK: eval

    /// A paired folder with `target/` holding `count` crops and `input/` the given images.
    static func pairedFolder(in f: Fixture, inputs: [String: Tensor], targets: [String: Tensor]) throws -> URL {
        let data = f.url("data")
        for (side, images) in [("input", inputs), ("target", targets)] {
            let folder = data.appendingPathComponent(side)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (name, image) in images { try image.writePNG(to: folder.appendingPathComponent(name)) }
        }
        return data
    }

    /// A network that is exactly the identity (Restormer's global residual with a zero output
    /// convolution) scores PSNR = inf and SSIM = 1 on pairs whose target is the input.
    @Test func identityScoresInfinitePSNR() throws {
        let f = try Fixture()
        defer { f.remove() }
        let images = ["a.png": try Fixture.crop(top: 100, left: 150, height: 29, width: 37),
                      "b.png": try Fixture.crop(top: 10, left: 20, height: 24, width: 16)]
        let data = try Self.pairedFolder(in: f, inputs: images, targets: images)
        var state = try f.model().stateDictionary()
        state["output.weight"] = Tensor.zeros(state["output.weight"]!.shape)
        let weights = f.url("identity.safetensors")
        try SafeTensors.write(state, to: weights)

        let prefix = f.url("reports/identity")
        let r = try ToolRunner.run(["eval", "--options", f.options.path, "--weights", weights.path, "--data", data.path,
                                    "--output", prefix.path])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(r.standardOutput.contains("PSNR") && r.standardOutput.contains("inf"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: prefix.appendingPathExtension("json"))) as? [String: Any])
        #expect(json["count"] as? Int == 2)
        let mean = try #require(json["mean"] as? [String: Any])
        #expect(mean["psnr"] as? String == "inf")
        #expect(abs(try #require(mean["ssim"] as? Double) - 1) < 1e-12)
        let rows = try String(contentsOf: prefix.appendingPathExtension("csv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(rows.map { $0[0] } == ["image", "a.png", "b.png", "mean"])
        for row in rows.dropFirst() {
            #expect(row[1] == "inf")
            #expect(abs(try #require(Double(row[2])) - 1) < 1e-12)
        }
    }

    /// With an untrained network, eval's PSNR equals 10·log10(255²/MSE) of the images `restore`
    /// writes, computed here from the PNG bytes (RGB, crop border 2).
    /// A JPEG test set: eval reads it, and --save-images writes each restored image as
    /// <name>.png, the same pixels `slkd restore` writes for that input.
    @Test func evalSavesRestoredImagesOfAJPEGTestSet() throws {
        let f = try Fixture()
        defer { f.remove() }
        let clean = try Fixture.crop(top: 100, left: 150, height: 29, width: 37)
        let data = f.url("jpeg-set")
        for side in ["input", "target"] {
            try FileManager.default.createDirectory(at: data.appendingPathComponent(side), withIntermediateDirectories: true)
            try clean.writeImage(to: data.appendingPathComponent("\(side)/7.jpg"))
        }
        let saved = f.url("saved")
        let r = try ToolRunner.run(["eval", "--options", f.options.path, "--random-weights", "--data", data.path, "--layout", "rain13k",
                                    "--output", f.url("report").path, "--save-images", saved.path])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: saved.path) == ["7.png"])
        let restored = f.url("restored")
        let rr = try ToolRunner.run(["restore", "--options", f.options.path, "--random-weights",
                                     data.appendingPathComponent("input/7.jpg").path, "--output", restored.path])
        #expect(rr.status == 0, "\(rr.standardError)")
        #expect(try Data(contentsOf: saved.appendingPathComponent("7.png")) == (try Data(contentsOf: restored.appendingPathComponent("7.png"))))
    }

    @Test func evalPSNRMatchesRestoredPNGs() throws {
        let f = try Fixture()
        defer { f.remove() }
        let clean = try Fixture.crop(top: 100, left: 150, height: 29, width: 37)
        var rng = RandomGenerator(seed: 3)
        let degraded = (clean + Tensor.normal(clean.shape, std: 0.05, using: &rng)).clamp(min: 0, max: 1)
        let data = try Self.pairedFolder(in: f, inputs: ["x.png": degraded], targets: ["x.png": clean])

        let reports = f.url("reports/")
        let r = try ToolRunner.run(["eval", "--random-weights", "--options", f.options.path, "--data", data.path, "--input-dir", "input",
                                    "--target-dir", "target", "--crop-border", "2", "--output", reports.path + "/"])
        #expect(r.status == 0, "\(r.standardError)")
        let restoredFolder = f.url("restored")
        let rr = try ToolRunner.run(["restore", "--random-weights", "--options", f.options.path, data.appendingPathComponent("input/x.png").path,
                                     "--output", restoredFolder.path])
        #expect(rr.status == 0, "\(rr.standardError)")

        let restored = try Tensor.readPNG(at: restoredFolder.appendingPathComponent("x.png")).doubles
        let target = try Tensor.readPNG(at: data.appendingPathComponent("target/x.png")).doubles
        var sum = 0.0, count = 0
        for c in 0..<3 {
            for y in 2..<(29 - 2) {
                for x in 2..<(37 - 2) {
                    let i = (c * 29 + y) * 37 + x
                    let d = (restored[i] - target[i]) * 255
                    sum += d * d
                    count += 1
                }
            }
        }
        let psnr = 10 * log10(255 * 255 / (sum / Double(count)))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("report.json"))) as? [String: Any])
        let images = try #require(json["images"] as? [[String: Any]])
        #expect(images.count == 1 && images[0]["image"] as? String == "x.png")
        let reported = try #require(images[0]["psnr"] as? Double)
        // 8-bit rounding: eval rounds half to even, PNG writing half up; ties are rare.
        #expect(abs(reported - psnr) < 0.01, "eval \(reported) dB, from the PNG \(psnr) dB")
        #expect(psnr > 5 && psnr < 40)
        let options = try #require(json["options"] as? [String: Any])
        #expect(options["cropBorder"] as? Int == 2 && options["testYChannel"] as? Bool == false)
        #expect(FileManager.default.fileExists(atPath: reports.appendingPathComponent("report.csv").path))
    }

    /// A degraded image without its clean partner is named; no report is written.
    @Test func missingPairIsNamed() throws {
        let f = try Fixture()
        defer { f.remove() }
        let image = try Fixture.crop(top: 0, left: 0, height: 16, width: 16)
        let data = try Self.pairedFolder(in: f, inputs: ["a.png": image, "lonely.png": image], targets: ["a.png": image])
        let prefix = f.url("reports/run")
        let r = try ToolRunner.run(["eval", "--random-weights", "--options", f.options.path, "--data", data.path, "--output", prefix.path])
        Self.expectOneLineError(r, naming: "lonely.png")
        #expect(r.standardError.contains(data.path))
        #expect(!FileManager.default.fileExists(atPath: f.url("reports").path))
    }
}
