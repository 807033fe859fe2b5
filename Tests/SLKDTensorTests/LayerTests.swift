import Testing
import SLKDTensor

/// A nested model shaped like a slice of Restormer: keys such as `encoder_level1.0.attn.qkv.weight`.
private final class Attention: Module, UnaryLayer {
    let qkv: Linear
    @Submodule(key: "project_out") var projectOut: Linear
    @Parameter var temperature: Tensor
    @Buffer(key: "relative_position_index") var relativePositionIndex: Tensor

    init(dim: Int, using g: inout RandomGenerator) {
        qkv = Linear(dim, 3 * dim, bias: false, using: &g)
        temperature = .ones([1, 1])
        super.init()
        projectOut = Linear(3 * dim, dim, using: &g)
        relativePositionIndex = Tensor(shape: [2, 2], indices: [0, 1, 2, 3])
    }

    func callAsFunction(_ x: Tensor) -> Tensor { projectOut(qkv(x).tanh()) * temperature }
}

private final class Block: Module, UnaryLayer {
    let attn: Attention
    let ffn: Sequential
    var extras: [Linear]
    let unused: Linear?

    init(dim: Int, using g: inout RandomGenerator) {
        attn = Attention(dim: dim, using: &g)
        ffn = Sequential(Linear(dim, dim, using: &g), Lambda { $0.tanh() }, Linear(dim, dim, using: &g))
        extras = [Linear(dim, dim, using: &g)]
        unused = nil
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x + ffn(attn(x)) + extras[0](x) }
}

private final class TinyNet: Module, UnaryLayer {
    @Submodule(key: "encoder_level1") var encoderLevel1: Sequential
    let output: Linear

    init(dim: Int = 4, using g: inout RandomGenerator) {
        output = Linear(dim, 2, using: &g)
        super.init()
        encoderLevel1 = Sequential(Block(dim: dim, using: &g), Block(dim: dim, using: &g))
    }

    func callAsFunction(_ x: Tensor) -> Tensor { output(encoderLevel1(x)) }
}

@Suite("Layers and state dictionaries")
struct LayerTests {
    static let expectedKeys = ["output.weight", "output.bias"] + (0..<2).flatMap { i in
        ["attn.temperature", "attn.relative_position_index", "attn.qkv.weight", "attn.project_out.weight",
         "attn.project_out.bias", "ffn.0.weight", "ffn.0.bias", "ffn.2.weight", "ffn.2.bias",
         "extras.0.weight", "extras.0.bias"].map { "encoder_level1.\(i).\($0)" }
    }

    @Test func keysFollowPyTorchNaming() {
        var g = RandomGenerator(seed: 1)
        let net = TinyNet(using: &g)
        #expect(Set(net.stateDictionaryKeys()) == Set(Self.expectedKeys))
        #expect(net.stateDictionaryKeys().count == Self.expectedKeys.count)
        #expect(Set(net.stateDictionary().keys) == Set(Self.expectedKeys))
        #expect(net.namedBuffers().map(\.key) == ["encoder_level1.0.attn.relative_position_index",
                                                   "encoder_level1.1.attn.relative_position_index"])
        #expect(net.namedParameters().count == Self.expectedKeys.count - 2)
        #expect(net.namedBuffers().allSatisfy { !$0.tensor.requiresGrad && $0.tensor.dtype == .int64 })
        #expect(net.namedParameters().allSatisfy { $0.tensor.requiresGrad })
        // 2·(1 + 12·4 + (12·4 + 4) + 2·20 + 20) + 10
        #expect(net.parameterCount == 2 * (1 + 48 + 52 + 40 + 20) + 10)
        #expect(net.namedModules().map(\.key).contains("encoder_level1.1.ffn.1"))
    }

    @Test func stateDictionaryRoundTripsAndCastsDtype() throws {
        var g = RandomGenerator(seed: 1), h = RandomGenerator(seed: 2)
        let a = TinyNet(using: &g), b = TinyNet(using: &h)
        let x = Tensor.normal([3, 4], using: &g)
        #expect(a(x).doubles != b(x).doubles)
        // A float64 checkpoint loads into a float32 model.
        let saved = a.stateDictionary().mapValues { $0.dtype == .float32 ? $0.cast(to: .float64) : $0 }
        try b.loadStateDictionary(saved)
        #expect(b(x).doubles == a(x).doubles)
        #expect(b.namedParameters().allSatisfy { $0.tensor.dtype == .float32 && $0.tensor.requiresGrad })
    }

    @Test func loadingReportsOffendingKeysByName() throws {
        var g = RandomGenerator(seed: 1)
        let net = TinyNet(using: &g)
        let before = net.stateDictionary()
        var bad = before
        bad["encoder_level1.1.ffn.2.bias"] = nil
        bad["encoder_level1.0.attn.qkv.bias"] = .zeros([12])
        bad["output.weight"] = .zeros([2, 5])
        do {
            try net.loadStateDictionary(bad)
            Issue.record("loading a bad state dictionary did not throw")
        } catch let error as StateDictionaryError {
            #expect(error.missingKeys == ["encoder_level1.1.ffn.2.bias"])
            #expect(error.unexpectedKeys == ["encoder_level1.0.attn.qkv.bias"])
            #expect(error.shapeMismatches == [.init(key: "output.weight", expected: [2, 4], found: [2, 5])])
            #expect(error.description.contains("encoder_level1.1.ffn.2.bias"))
            #expect(error.description.contains("size mismatch for output.weight"))
        }
        // Nothing was changed by the failed load.
        for (key, t) in net.stateDictionary() { #expect(t.doubles == before[key]!.doubles) }

        // Non-strict loading skips missing and unexpected keys but still refuses wrong shapes.
        bad["output.weight"] = .ones([2, 4])
        let report = try net.loadStateDictionary(bad, strict: false)
        #expect(report.missingKeys == ["encoder_level1.1.ffn.2.bias"])
        #expect(report.unexpectedKeys == ["encoder_level1.0.attn.qkv.bias"])
        #expect(net.output.weight.doubles == Array(repeating: 1, count: 8))
        bad["output.weight"] = .ones([4, 2])
        #expect(throws: StateDictionaryError.self) { try net.loadStateDictionary(bad, strict: false) }
    }

    @Test func trainAndEvalPropagate() {
        var g = RandomGenerator(seed: 1)
        let net = TinyNet(using: &g)
        #expect(net.namedModules().allSatisfy { $0.module.isTraining })
        net.eval()
        #expect(net.namedModules().allSatisfy { !$0.module.isTraining })
        net.encoderLevel1.train()
        #expect(!net.isTraining && !net.output.isTraining)
        #expect(net.namedModules().filter { $0.key.hasPrefix("encoder_level1") }.allSatisfy { $0.module.isTraining })
    }

    @Test func frozenSubtreesGetNoGradients() {
        var g = RandomGenerator(seed: 1)
        let net = TinyNet(dim: 4, using: &g)
        net.encoderLevel1.freeze()
        #expect(net.trainableParameters().map(\.key) == ["output.weight", "output.bias"])
        let grads = net(Tensor.normal([3, 4], using: &g)).sum().backward()
        #expect(grads.count == 2)
        #expect(grads[net.output.weight] != nil)
    }

    @Test func linearInitialisationFollowsPyTorchBounds() {
        var g = RandomGenerator(seed: 7)
        let layer = Linear(64, 32, using: &g)
        let bound = 1 / 8.0
        let w = layer.weight.doubles, b = layer.bias!.doubles
        #expect(layer.weight.shape == [32, 64] && layer.bias!.shape == [32])
        #expect(w.allSatisfy { Swift.abs($0) <= bound } && b.allSatisfy { Swift.abs($0) <= bound })
        // Uniform on ±bound: variance bound²/3.
        let variance = w.reduce(0) { $0 + $1 * $1 } / Double(w.count)
        #expect(Swift.abs(variance - bound * bound / 3) < 0.1 * bound * bound / 3)
        var g2 = RandomGenerator(seed: 7)
        #expect(Linear(64, 32, using: &g2).weight.doubles == w)
    }

    static let linearCases = (try? loadReferenceCases("linear")) ?? []

    /// The parameterised tests below run one case per vector: without the file they would run none.
    @Test func linearVectorsArePresent() throws { #expect(try loadReferenceCases("linear").count == 4) }

    @Test("Linear matches PyTorch", arguments: linearCases.map(\.name))
    func linearMatchesPyTorch(name: String) throws {
        let c = try #require(Self.linearCases.first { $0.name == name })
        let op: ([Tensor]) -> Tensor = { t in Linear(weight: t[1], bias: t.count > 2 ? t[2] : nil)(t[0]) }
        // Linear stores its weights as fresh leaves, so input gradients are compared through the
        // functional form it calls.
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12) { t in linearFunction(t[0], t[1], t.count > 2 ? t[2] : nil) }
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-6) { t in linearFunction(t[0], t[1], t.count > 2 ? t[2] : nil) }
        expectClose(op(c.orderedInputs()), c.output.tensor(), rtol: 1e-10, atol: 1e-12, "\(name) layer output")
        // The layer's own parameter gradients, from `backward()`.
        let inputs = c.orderedInputs()
        let layer = Linear(weight: inputs[1], bias: inputs.count > 2 ? inputs[2] : nil)
        let grads = (layer(inputs[0]) * c.upstream!.tensor()).sum().backward()
        expectClose(grads[layer.weight]!, c.grads["w"]!.tensor(), rtol: 1e-10, atol: 1e-12, "\(name) dW")
        if let bias = layer.bias { expectClose(grads[bias]!, c.grads["b"]!.tensor(), rtol: 1e-10, atol: 1e-12, "\(name) db") }
    }

    @Test("Linear passes float64 gradient checks", arguments: linearCases.map(\.name))
    func linearGradientCheck(name: String) throws {
        let c = try #require(Self.linearCases.first { $0.name == name })
        let report = gradCheck(c.orderedInputs()) { t in linearFunction(t[0], t[1], t.count > 2 ? t[2] : nil) }
        #expect(report.passed, "\(report)")
    }
}

/// The layer's computation with the weights as ordinary inputs.
private func linearFunction(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
    x.linear(weight: w, bias: b)
}
