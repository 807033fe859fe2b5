import Foundation
import Testing
import SLKDModels

/// The `bias` and normalisation settings of the three families against PyTorch: tiny models with
/// `bias` true and false (Restormer also with BiasFree LayerNorm, DRSformer with both LayerNorms,
/// Uformer with `qkv_bias` true and false), made by Scripts/torchref/model_bias.py. The script
/// writes, per case, the official constructor arguments, the state_dict keys and shapes in order,
/// the weights, one input, the output and every gradient of an L1 loss
/// (Tests/SLKDModelsTests/Vectors/bias, Docs/Method.md#bias-and-normalisation).
@Suite("Bias and normalisation: key names, outputs and gradients against PyTorch")
struct BiasFidelityTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Vectors/bias")

    struct Case {
        let type: String
        let networkJSON: Data
        let stateDict: [(key: String, shape: [Int])]
        let minTopKGap: Double?
    }

    static func loadCase(_ stem: String) throws -> Case {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("cases.json")))
        let cases = try #require((root as? [String: Any])?["cases"] as? [String: Any])
        let entry = try #require(cases[stem] as? [String: Any], "no case \(stem)")
        let network = try #require(entry["network_g"])
        let keys = try #require(entry["state_dict"] as? [[Any]]).map { pair in
            (key: pair[0] as! String, shape: (pair[1] as! [NSNumber]).map(\.intValue))
        }
        return Case(type: try #require(entry["type"] as? String),
                    networkJSON: try JSONSerialization.data(withJSONObject: network),
                    stateDict: keys, minTopKGap: (entry["min_topk_gap"] as? NSNumber)?.doubleValue)
    }

    /// The model a case's `network_g` section describes, decoded under the official argument names.
    static func build(_ c: Case) throws -> any RestorationModel {
        let decoder = JSONDecoder()
        switch c.type {
        case "Restormer": return Restormer(try decoder.decode(Restormer.Configuration.self, from: c.networkJSON), seed: 1)
        case "DRSformer": return DRSformer(try decoder.decode(DRSformer.Configuration.self, from: c.networkJSON), seed: 1)
        default:
            var g = RandomGenerator(seed: 1)
            return try Uformer(try decoder.decode(Uformer.Configuration.self, from: c.networkJSON), using: &g)
        }
    }

    static let stems = ["restormer_bias_withbias", "restormer_bias_biasfree", "restormer_nobias_withbias",
                        "drsformer_bias_withbias", "drsformer_nobias_biasfree", "uformer_qkvbias", "uformer_noqkvbias"]

    /// Built from the constructor arguments alone, every model has exactly PyTorch's state_dict:
    /// the same keys, in the same order, with the same shapes.
    @Test(arguments: stems)
    func keysAndShapesEqualPyTorch(_ stem: String) throws {
        let c = try Self.loadCase(stem)
        let model = try Self.build(c)
        let state = model.stateDictionary()
        let ours = model.stateDictionaryKeys().map { "\($0) \(state[$0]!.shape)" }
        #expect(ours == c.stateDict.map { "\($0.key) \($0.shape)" })
    }

    /// `bias` adds biases exactly where the official code passes `bias=bias`, and nowhere else.
    @Test func biasReachesOnlyTheLayersThatTakeIt() throws {
        let with = Set(try Self.loadCase("restormer_bias_withbias").stateDict.map(\.key))
        let without = Set(try Self.loadCase("restormer_nobias_withbias").stateDict.map(\.key))
        #expect(!with.contains("patch_embed.proj.bias") && !with.contains("down1_2.body.0.bias"))
        #expect(with.subtracting(without).allSatisfy { $0.hasSuffix(".bias") && !$0.contains("norm") })
        #expect(with.contains("reduce_chan_level3.bias") && with.contains("output.bias")
                && with.contains("encoder_level1.0.attn.qkv_dwconv.bias") && with.contains("refinement.0.ffn.dwconv.bias"))
        let drs = Set(try Self.loadCase("drsformer_bias_withbias").stateDict.map(\.key))
        #expect(!drs.contains("patch_embed.proj.bias") && drs.contains("latent.0.ffn.dwconv5x5_1.bias"))
        #expect(!drs.contains(where: { $0.hasPrefix("encoder_level0") && $0.hasSuffix(".bias") && !$0.contains("ca_fc") }))
        let uformer = Set(try Self.loadCase("uformer_qkvbias").stateDict.map(\.key))
        let uformerWithout = Set(try Self.loadCase("uformer_noqkvbias").stateDict.map(\.key))
        #expect(!uformer.subtracting(uformerWithout).isEmpty)
        #expect(uformer.subtracting(uformerWithout).allSatisfy { $0.hasSuffix("qkv.to_q.bias") || $0.hasSuffix("qkv.to_kv.bias") })
    }

    /// Output, loss and gradients under the PyTorch weights. Tolerances are GoldenComparison's:
    /// outputs within 1e-4 of max(1, max|b|), gradients within 1e-3 relative plus 1e-5 of the
    /// tensor's largest entry. Both are float32 runs of the same arithmetic in different orders:
    /// their rounding differences stay near 1e-6 relative through these shallow networks, so the
    /// bounds leave about two orders of magnitude, while a missing or misplaced bias moves values
    /// by its own size (the script sets every bias to 0.05·N(0, 1)).
    @Test(arguments: stems)
    func outputAndGradientsMatchPyTorch(_ stem: String) throws {
        let c = try Self.loadCase(stem)
        let model = try Self.build(c)
        let golden = try SafeTensors.read(from: Self.folder.appendingPathComponent(stem + ".safetensors"))
        var weights: [String: Tensor] = [:]
        for name in golden.names where name.hasPrefix("weight/") { weights[String(name.dropFirst(7))] = golden[name]! }
        try model.loadStateDictionary(weights)
        model.eval()
        if let gap = c.minTopKGap {
            // TKSA keeps the k largest logits of each row: a float32 port's logits (error ~1e-6)
            // pick the same entries only if no row's k-th and (k+1)-th logits are this close.
            #expect(gap >= 1e-4, "top-k gap \(gap)")
        }

        let input = try #require(golden["input"]).requiringGrad()
        let target = try #require(golden["target"])
        let output = model(input)
        GoldenComparison.expectValues(output, try #require(golden["output"]), "output")
        if ProcessInfo.processInfo.environment["SLKD_VERBOSE"] == "1" {
            let a = output.doubles, b = golden["output"]!.doubles
            print("\(stem) output: max|a−b| = \(zip(a, b).map { abs($0 - $1) }.max()!)")
        }
        let loss = (output - target).abs().mean()
        let want = try #require(golden["loss_l1"]).item
        #expect(abs(loss.item - want) <= 1e-5 * abs(want), "loss \(loss.item) vs \(want)")

        let grads = loss.backward()
        // Where |output − target| < 1e-4 the L1 subgradient may flip sign under rounding: those
        // elements of grad/input are left out (at most a handful per case).
        let mask = (output - target).detached().doubles.map { abs($0) >= 1e-4 }
        #expect(mask.filter { !$0 }.count <= 3)
        GoldenComparison.expectGradient(try #require(grads[input]), try #require(golden["grad/input"]), "grad/input", mask: mask)
        // The script records the gradients of every parameter of at most 1,024 elements: every
        // bias, norm weight, temperature and TKSA weight (the big weights' gradients are checked
        // by the official golden models).
        let parameters = model.namedParameters().filter { $0.tensor.count <= 1024 }
        #expect(parameters.count == golden.names.filter { $0.hasPrefix("grad/") }.count - 1)
        #expect(model.namedParameters().allSatisfy { $0.tensor.rank > 1 || $0.tensor.count <= 1024 })
        for (key, parameter) in parameters {
            let reference = try #require(golden["grad/" + key], "no PyTorch gradient of \(key)")
            GoldenComparison.expectGradient(try #require(grads[parameter], "gradient of \(key)"), reference, "grad/\(key)")
        }
    }
}
