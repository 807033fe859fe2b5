import Foundation
import Testing
import SLKDModels
import SLKDTestSupport

/// Uformer against the official code: full-configuration keys and parameter counts, the golden
/// tiny model (output, loss, features, every gradient), and the official training checkpoint.
@Suite("Uformer")
struct UformerTests {
    // MARK: Configurations

    @Test func presetsHaveTheOfficialParameterCounts() throws {
        var g = RandomGenerator(seed: 1)
        #expect(try Uformer(.uforSL, using: &g).parameterCount == 7_855_234)
        #expect(try Uformer(.uformerB, using: &g).parameterCount == 50_880_946)
    }

    @Test(arguments: [("uformer_b", Uformer.Configuration.uformerB), ("ufor_sl", Uformer.Configuration.uforSL)])
    func keysMatchTheOfficialStateDict(_ name: String, _ configuration: Uformer.Configuration) throws {
        let text = try String(contentsOf: SharedReference.url("models/keys/\(name).txt"), encoding: .utf8)
        var official: [String: (shape: [Int], dtype: String)] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t").map(String.init)
            let shape = fields[1].dropFirst().dropLast().split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
            official[fields[0]] = (shape, fields[3])
        }
        var g = RandomGenerator(seed: 2)
        let model = try Uformer(configuration, using: &g)
        let ours = model.stateDictionary()
        #expect(Set(ours.keys) == Set(official.keys))
        for (key, tensor) in ours {
            guard let want = official[key] else { continue }
            #expect(tensor.shape == want.shape, "shape of \(key)")
            #expect((tensor.dtype == .int64 ? "int64" : "float32") == want.dtype, "dtype of \(key)")
        }
        #expect(model.namedBuffers().count == official.values.filter { $0.dtype == "int64" }.count)
    }

    @Test func configurationDecodesOfficialNamesWithDefaults() throws {
        let json = #"{"type": "Uformer", "img_size": 128, "embed_dim": 16, "depths": [1,2,4,4,2,4,4,2,1], "modulator": true, "qk_scale": null}"#
        let decoded = try JSONDecoder().decode(Uformer.Configuration.self, from: Data(json.utf8))
        #expect(decoded == .uforSL)
        let defaults = try JSONDecoder().decode(Uformer.Configuration.self, from: Data("{}".utf8))
        #expect(defaults == Uformer.Configuration())
        #expect(defaults.imgSize == 256 && defaults.depths == [2, 2, 2, 2, 2, 2, 2, 2, 2] && !defaults.modulator
                && defaults.numHeads == [1, 2, 4, 8, 16, 16, 8, 4, 2] && defaults.winSize == 8 && defaults.mlpRatio == 4)
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Uformer.Configuration.uformerB)) as! [String: Any]
        #expect(encoded["embed_dim"] as? Int == 32 && encoded["token_mlp"] as? String == "leff")
    }

    @Test func unsupportedConfigurationsThrow() {
        var g = RandomGenerator(seed: 3)
        var c = Uformer.Configuration(imgSize: 64, embedDim: 4)
        c.tokenProjection = "conv"
        #expect(throws: UformerConfigurationError.self) { try Uformer(c, using: &g) }
        c = Uformer.Configuration(imgSize: 64, embedDim: 4, depths: [1, 1, 1])
        #expect(throws: UformerConfigurationError.self) { try Uformer(c, using: &g) }
        c = Uformer.Configuration(imgSize: 64, embedDim: 4, numHeads: [3, 2, 4, 8, 16, 16, 8, 4, 2])
        #expect(throws: UformerConfigurationError.self) { try Uformer(c, using: &g) }
    }

    /// The official construction-time rule: a level no larger than the window is one unshifted
    /// window of its own side (img_size 64 → 4×4 bottleneck with a [49, h] table).
    @Test func smallLevelsUseOneUnshiftedWindow() throws {
        var g = RandomGenerator(seed: 4)
        let model = try Uformer(Uformer.Configuration(imgSize: 64, embedDim: 4, depths: [2, 2, 2, 2, 2, 2, 2, 2, 2]), using: &g)
        let keys = model.stateDictionary()
        #expect(keys["conv.blocks.1.attn.relative_position_bias_table"]?.shape == [49, 16])
        #expect(keys["conv.blocks.1.attn.relative_position_index"]?.shape == [16, 16])
        #expect(keys["decoderlayer_0.blocks.1.attn.relative_position_bias_table"]?.shape == [225, 16])
        #expect(model.bottleneck.blocks[1].shift == 0 && model.bottleneck.blocks[1].window == 4)
        #expect(model.decoderLayer0.blocks[1].shift == 0 && model.encoderLayer0.blocks[1].shift == 4)
    }

    // MARK: Golden model

    static let golden = "models/golden/uformer_tiny"

    static func goldenModel() throws -> (Uformer, SafeTensors.Contents) {
        let contents = try SafeTensors.read(from: SharedReference.url(golden + ".safetensors"))
        let json = try Data(contentsOf: SharedReference.url(golden + ".json"))
        let configuration = try JSONDecoder().decode(Uformer.Configuration.self, from: json)
        #expect(configuration.embedDim == 4 && configuration.depths == [2, 1, 1, 1, 2, 1, 1, 1, 2] && configuration.modulator)
        var g = RandomGenerator(seed: 5)
        let model = try Uformer(configuration, using: &g)
        var weights: [String: Tensor] = [:]
        for (name, tensor) in contents.tensors where name.hasPrefix("weight/") { weights[String(name.dropFirst(7))] = tensor }
        try model.loadStateDictionary(weights)
        model.eval()
        return (model, contents)
    }

    @Test
    func goldenForwardFeaturesAndGradients() throws {
        let (model, golden) = try Self.goldenModel()
        let input = try #require(golden["input"]).requiringGrad()
        let target = try #require(golden["target"])
        let out = model.forward(input, features: Set(model.featureNames))
        GoldenComparison.expectValues(out.image, try #require(golden["output"]), "output")

        // Golden features are token tensors [B, H·W, C]; ours are their image views.
        var compared = 0
        for (name, reference) in golden.tensors where name.hasPrefix("feat/") {
            let key = String(name.dropFirst(5))
            let ours = try #require(out.features[key], "feature \(key)")
            let (b, c, h, w) = (ours.shape[0], ours.shape[1], ours.shape[2], ours.shape[3])
            GoldenComparison.expectValues(ours.permuted([0, 2, 3, 1]).reshaped([b, h * w, c]), reference, name)
            compared += 1
        }
        #expect(compared == 6)

        let loss = (out.image - target).abs().mean()
        let want = try #require(golden["loss_l1"]).item
        #expect(abs(loss.item - want) <= 1e-5 * abs(want), "loss \(loss.item) vs \(want)")

        let grads = loss.backward()
        // The L1 subgradient flips where output ≈ target (3 elements below 1e-4): masked out.
        let residual = (out.image - target).detached().doubles
        let mask = residual.map { abs($0) >= 1e-4 }
        #expect(mask.filter { !$0 }.count == 3)
        GoldenComparison.expectGradient(try #require(grads[input]), try #require(golden["grad/input"]), "grad/input", mask: mask)
        var gradients = 0
        for (key, parameter) in model.namedParameters() {
            let reference = try #require(golden["grad/" + key], "golden gradient of \(key)")
            GoldenComparison.expectGradient(try #require(grads[parameter], "gradient of \(key)"), reference, "grad/\(key)")
            gradients += 1
        }
        #expect(gradients == 229)
    }

    @Test
    func officialTrainingCheckpointReproducesTheGoldenOutput() throws {
        let (reference, golden) = try Self.goldenModel()
        let state = try PyTorchCheckpoint.load(from: SharedReference.url("models/checkpoints/uformer_tiny_train.pth"))
        var g = RandomGenerator(seed: 6)
        let model = try Uformer(reference.configuration, using: &g)
        try model.loadStateDictionary(state)
        model.eval()
        for (key, tensor) in model.stateDictionary() {
            let want = try #require(golden["weight/" + key])
            #expect(tensor.dtype == want.dtype && tensor.doubles == want.doubles, "weights of \(key) are bit-identical")
        }
        let input = try #require(golden["input"])
        let out = withoutGradients { model(input) }
        GoldenComparison.expectValues(out, try #require(golden["output"]), "output")
    }

    // MARK: Windows

    /// The single-gather window partition equals roll(−s) + window_partition from SLKDTensor,
    /// and its reverse restores the image order.
    @Test(arguments: [(16, 8, 0), (16, 8, 4), (32, 8, 4), (8, 8, 0)])
    func windowGatherEqualsRollAndPartition(_ side: Int, _ window: Int, _ shift: Int) throws {
        var g = RandomGenerator(seed: 7)
        let x = Tensor.normal([2, side, side, 3], using: &g)                     // official [B, H, W, C]
        let reference = x.cyclicShifted([-shift, -shift], axes: [1, 2]).windowPartition(window)
            .reshaped([2, side * side, 3]).transposed(1, 2)
        let tokens = x.reshaped([2, side * side, 3]).transposed(1, 2)           // channel-major [B, C, H·W]
        let gathered = Uformer.windowOrdered(tokens, height: side, width: side, window: window, shift: shift)
        #expect(gathered.floats == reference.floats)
        let back = Uformer.imageOrdered(gathered, height: side, width: side, window: window, shift: shift)
        #expect(back.floats == tokens.floats)
    }
}
