import Testing
import SLKDTensor

/// The ops of `vision_norm_act.json`, by the op name the generator wrote.
private func normActOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    switch c.op {
    case "layernorm": { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
    case "channel_ln_withbias": { $0[0].channelLayerNorm(weight: $0[1], bias: $0[2], kind: .withBias) }
    case "channel_ln_biasfree": { $0[0].channelLayerNorm(weight: $0[1], kind: .biasFree) }
    case "l2": { $0[0].l2Normalized(axis: c.params["axis"]!.int) }
    case "gelu": { $0[0].gelu() }
    case "relu": { $0[0].relu() }
    case "leaky_relu": { $0[0].leakyReLU(slope: c.params["slope"]!.number) }
    case "gelu_gate": { Tensor.geluGate($0[0], $0[1]) }
    case "gelu_gate_channels": { $0[0].geluGateOverChannels() }
    case "softmax": { $0[0].softmax(axis: c.params["axis"]!.int) }
    case "log_softmax": { $0[0].logSoftmax(axis: c.params["axis"]!.int) }
    case "softmax_masked":
        { t in
            let masked = Tensor.where(t[1] > 0, t[0], Tensor(scalar: -.infinity, dtype: t[0].dtype))
            return masked.softmax(axis: c.params["axis"]!.int)
        }
    default: fatalError("unknown op \(c.op)")
    }
}

@Suite("Vision: normalisation, activations, softmax")
struct VisionNormActTests {
    static let cases = (try? loadReferenceCases("vision_norm_act")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, normActOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5, normActOp(c))
    }

    /// Finite differences of every case, except where the input sits on a kink on purpose (a lane
    /// whose norm is below eps).
    @Test("pass float64 gradient checks", arguments: cases.map(\.name).filter { $0 != "l2_middle_tiny" })
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let op = normActOp(c)
        let report = gradCheckDifferentiableInputs(c, op)
        #expect(report.passed, "\(report)")
    }

    /// Channel LayerNorm on a large NCHW tensor (blocked, threaded path) equals LayerNorm over the
    /// last axis of the NHWC permutation.
    @Test func channelLayerNormEqualsPermutedLayerNorm() {
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.uniform([2, 12, 19, 23], low: -3, high: 3, dtype: .float64, using: &rng)
        let w = Tensor.uniform([12], low: 0.5, high: 1.5, dtype: .float64, using: &rng)
        let b = Tensor.uniform([12], low: -1, high: 1, dtype: .float64, using: &rng)
        let a = x.channelLayerNorm(weight: w, bias: b)
        let e = x.permuted([0, 2, 3, 1]).layerNorm(weight: w, bias: b).permuted([0, 3, 1, 2])
        expectClose(a, e, rtol: 1e-12, atol: 1e-12, "channel LayerNorm")
    }

    /// Softmax of a row with a masked entry gives it probability exactly 0.
    @Test func maskedEntriesGetZeroProbability() {
        let x = Tensor(shape: [1, 3], scalars: [1.0, -.infinity, 1.0] as [Double])
        #expect(x.softmax(axis: -1).doubles == [0.5, 0, 0.5])
    }

    /// LeakyReLU on a tensor large enough to split across threads, read through a permutation,
    /// with zeros and NaN: every value and gradient is the rule's, element by element.
    @Test(arguments: [DType.float32, .float64])
    func leakyReLUAppliesTheRuleOnEveryChunk(dtype: DType) {
        var rng = RandomGenerator(seed: 9)
        var values = Tensor.uniform([3, 64, 1024], low: -2, high: 2, dtype: .float64, using: &rng).doubles
        values[0] = 0
        values[1] = .nan
        values[values.count - 1] = -0.0
        let base = Tensor(shape: [3, 64, 1024], scalars: values).cast(to: dtype)
        let x = base.permuted([2, 0, 1]).requiringGrad()
        let g = Tensor.uniform(x.shape, low: -1, high: 1, dtype: dtype, using: &rng)
        let y = x.leakyReLU(slope: 0.2)
        let dx = (y * g).sum().gradients(wrt: [x])[0]
        let (xs, ys, gs, dxs) = (x.doubles, y.doubles, g.doubles, dx.doubles)
        let slope = dtype == .float32 ? Double(Float(0.2)) : 0.2
        func rounded(_ v: Double) -> Double { dtype == .float32 ? Double(Float(v)) : v }
        var mismatches = 0
        for i in xs.indices {
            let expectedY = xs[i] > 0 ? xs[i] : rounded(xs[i] * slope)
            let expectedDx = xs[i] > 0 ? gs[i] : rounded(gs[i] * slope)
            if !(expectedY.bitPattern == ys[i].bitPattern || (expectedY.isNaN && ys[i].isNaN)) { mismatches += 1 }
            if expectedDx.bitPattern != dxs[i].bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
        let empty = Tensor.zeros([0, 3], dtype: dtype).requiringGrad()
        #expect(empty.leakyReLU().shape == [0, 3])
        #expect(empty.leakyReLU().sum().gradients(wrt: [empty])[0].shape == [0, 3])
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 17) }
}
