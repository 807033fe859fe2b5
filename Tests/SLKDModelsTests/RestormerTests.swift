import Foundation
import Testing
import Yams
import SLKDModels

/// The `network_g` section of a golden `.yml`.
private func goldenConfiguration(_ stem: String) throws -> Restormer.Configuration {
    let text = try String(contentsOf: SharedReference.url("models/golden/\(stem).yml"), encoding: .utf8)
    struct Options: Decodable { var network_g: Restormer.Configuration }
    return try YAMLDecoder().decode(Options.self, from: text).network_g
}

/// The golden weights (`weight/<key>`) as a state dictionary.
private func goldenWeights(_ contents: SafeTensors.Contents) -> [String: Tensor] {
    var weights: [String: Tensor] = [:]
    for name in contents.names where name.hasPrefix("weight/") { weights[String(name.dropFirst(7))] = contents[name]! }
    return weights
}

@Suite("Restormer: golden models of the official code")
struct RestormerGoldenTests {
    @Test(arguments: ["restormer_tiny_withbias", "restormer_tiny_biasfree"])
    func outputFeaturesAndGradients(_ stem: String) throws {
        let configuration = try goldenConfiguration(stem)
        #expect(configuration == Restormer.Configuration(dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1,
                                                         layerNormType: stem.hasSuffix("biasfree") ? .biasFree : .withBias))
        let golden = try SafeTensors.read(from: SharedReference.url("models/golden/\(stem).safetensors"))
        let model = Restormer(configuration, seed: 1)
        try model.loadStateDictionary(goldenWeights(golden))
        model.eval()

        let input = golden["input"]!.requiringGrad()
        let result = model.forward(input, features: Set(model.featureNames))
        GoldenComparison.expectValues(result.image, golden["output"]!, "output")
        let recorded = golden.names.filter { $0.hasPrefix("feat/") }
        #expect(recorded.count == (stem.hasSuffix("biasfree") ? 4 : 9))
        for name in recorded {
            let feature = try #require(result.features[String(name.dropFirst(5))], "feature \(name) not recorded")
            GoldenComparison.expectValues(feature, golden[name]!, name)
        }

        let loss = (result.image - golden["target"]!).abs().mean()
        let wantLoss = Double(golden["loss_l1"]!.floats[0])
        #expect(abs(loss.doubles[0] - wantLoss) <= 1e-5 * wantLoss, "loss \(loss.doubles[0]) vs \(wantLoss)")

        let parameters = model.namedParameters()
        let gradients = loss.gradients(wrt: [input] + parameters.map(\.tensor))
        GoldenComparison.expectGradient(gradients[0], golden["grad/input"]!, "grad/input")
        let goldenGradients = golden.names.filter { $0.hasPrefix("grad/") && $0 != "grad/input" }
        #expect(goldenGradients.count == parameters.count)
        #expect(parameters.count == (stem.hasSuffix("biasfree") ? 82 : 98))
        for (i, (key, _)) in parameters.enumerated() {
            let want = try #require(golden["grad/\(key)"], "no golden gradient for \(key)")
            GoldenComparison.expectGradient(gradients[i + 1], want, "grad/\(key)")
        }
    }

    /// The BasicSR `.pth` files (`params`, and the EMA-only `params_ema`) hold the golden weights:
    /// loaded through `PyTorchCheckpoint`, they reproduce the golden output.
    @Test(arguments: ["restormer_tiny_withbias.pth", "restormer_tiny_withbias_ema.pth"])
    func officialCheckpointReproducesOutput(_ file: String) throws {
        let weights = try PyTorchCheckpoint.load(from: SharedReference.url("models/checkpoints/\(file)"))
        let golden = try SafeTensors.read(from: SharedReference.url("models/golden/restormer_tiny_withbias.safetensors"))
        let model = Restormer(try goldenConfiguration("restormer_tiny_withbias"), seed: 2)
        try model.loadStateDictionary(weights)
        for (key, tensor) in model.stateDictionary() {
            #expect(tensor.floats.map(\.bitPattern) == golden["weight/\(key)"]!.floats.map(\.bitPattern), "\(key)")
        }
        let output = withoutGradients { model(golden["input"]!) }
        GoldenComparison.expectValues(output, golden["output"]!, "output")
    }

    /// Every key and shape of the official full configurations (keys/*.txt, WithBias), in the
    /// official order, and the README's parameter counts.
    @Test(arguments: [("restormer", Restormer.Configuration.restormer, 26_126_644),
                      ("res_sl", Restormer.Configuration.resSL, 3_537_482)])
    func fullConfigurationKeysAndParameterCount(_ file: String, _ configuration: Restormer.Configuration, _ count: Int) throws {
        let text = try String(contentsOf: SharedReference.url("models/keys/\(file).txt"), encoding: .utf8)
        let official = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: "\t")
            let shape = fields[1].dropFirst().dropLast().split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
            return "\(fields[0]) \(shape)"
        }
        let model = Restormer(configuration, seed: 3)
        let state = model.stateDictionary()
        let ours = model.stateDictionaryKeys().map { "\($0) \(state[$0]!.shape)" }
        #expect(ours == official)
        #expect(model.parameterCount == count)
    }
}

@Suite("Restormer: configuration and graph")
struct RestormerConfigurationTests {
    @Test func missingKeysTakeOfficialDefaults() throws {
        let decoded = try JSONDecoder().decode(Restormer.Configuration.self, from: Data(#"{"type": "Restormer"}"#.utf8))
        #expect(decoded == .restormer)
        #expect(decoded.dim == 48 && decoded.numBlocks == [4, 6, 6, 8] && decoded.heads == [1, 2, 4, 8])
        #expect(decoded.ffnExpansionFactor == 2.66 && !decoded.bias && decoded.layerNormType == .withBias)
    }

    @Test func yamlNetworkSectionDecodesByOfficialNames() throws {
        let yaml = """
            type: Restormer
            inp_channels: 1
            out_channels: 1
            dim: 24
            num_blocks: [1, 2, 2, 4]
            LayerNorm_type: BiasFree
            bias: true
            """
        let c = try YAMLDecoder().decode(Restormer.Configuration.self, from: yaml)
        #expect(c == Restormer.Configuration(inputChannels: 1, outputChannels: 1, dim: 24, numBlocks: [1, 2, 2, 4],
                                             bias: true, layerNormType: .biasFree))
        // Encoding writes the official names back.
        let json = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        #expect(json.contains("\"LayerNorm_type\":\"BiasFree\"") && json.contains("\"inp_channels\":1"))
    }

    @Test func invalidConfigurationIsRejected() {
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(Restormer.Configuration.self, from: Data(#"{"dim": 6, "heads": [1, 5, 4, 8]}"#.utf8))
        }
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(Restormer.Configuration.self, from: Data(#"{"num_blocks": [1, 2]}"#.utf8))
        }
    }

    /// Gray denoising (1 → 1 channel, biases on, BiasFree) and dual-pixel (6 → 3, `skip_conv`, no
    /// global residual): shapes of the output and of every stage, and the extra keys.
    @Test func grayAndDualPixelVariants() {
        let gray = Restormer(.init(inputChannels: 1, outputChannels: 1, dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1,
                                   heads: [1, 2, 2, 4], bias: true, layerNormType: .biasFree), seed: 4)
        let keys = Set(gray.stateDictionaryKeys())
        #expect(keys.contains("encoder_level1.0.attn.qkv.bias") && keys.contains("output.bias"))
        #expect(!keys.contains("encoder_level1.0.norm1.body.bias") && !keys.contains("down1_2.body.0.bias"))
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.uniform([2, 1, 16, 8], low: 0, high: 1, using: &generator)
        let out = withoutGradients { gray.forward(x, features: Set(gray.featureNames)) }
        #expect(out.image.shape == [2, 1, 16, 8])
        let expected: [String: [Int]] = [
            "patch_embed": [2, 4, 16, 8], "encoder_level1": [2, 4, 16, 8], "encoder_level2": [2, 8, 8, 4],
            "encoder_level3": [2, 16, 4, 2], "latent": [2, 32, 2, 1], "decoder_level3": [2, 16, 4, 2],
            "decoder_level2": [2, 8, 8, 4], "decoder_level1": [2, 8, 16, 8], "refinement": [2, 8, 16, 8]]
        #expect(out.features.mapValues(\.shape) == expected)

        let dual = Restormer(.init(inputChannels: 6, dim: 4, numBlocks: [1, 0, 0, 1], numRefinementBlocks: 0,
                                   heads: [1, 1, 1, 1], dualPixelTask: true), seed: 6)
        #expect(dual.stateDictionary()["skip_conv.weight"]?.shape == [8, 4, 1, 1])
        #expect(dual.stateDictionaryKeys().suffix(2) == ["skip_conv.weight", "output.weight"])
        let x6 = Tensor.uniform([1, 6, 8, 8], low: 0, high: 1, using: &generator)
        let y = withoutGradients { dual(x6) }
        #expect(y.shape == [1, 3, 8, 8])
    }

    @Test func tapsAreStagesOfTheModel() {
        let model = Restormer(.init(dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1), seed: 8)
        #expect(model.encoderTaps == ["encoder_level1", "encoder_level2", "encoder_level3", "latent"])
        #expect(model.decoderTaps == ["decoder_level3", "decoder_level2", "decoder_level1", "refinement"])
        #expect(model.sizeMultiple == 8 && !model.requiresSquareInput && model.inputChannels == 3)
        let taps = withoutGradients { model.forwardWithTaps(.zeros([1, 3, 8, 8])) }
        #expect(taps.encoder.map { $0.shape[1] } == [4, 8, 16, 32])
        #expect(taps.decoder.map { $0.shape[1] } == [16, 8, 8, 8])
        // Plain inference records nothing.
        #expect(withoutGradients { model.forward(.zeros([1, 3, 8, 8]), features: []) }.features.isEmpty)
    }
}
