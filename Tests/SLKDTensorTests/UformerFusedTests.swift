import Testing
import SLKDTensor

/// The ops of `uformer_fused.json` (Scripts/torchref/uformer_fused.py), by the op name the generator wrote.
private func fusedOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    let p = c.params
    switch c.op {
    case "channel_linear", "channel_linear_gelu":
        let gelu = c.op == "channel_linear_gelu"
        return { t in Tensor.uformerChannelLinear(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, gelu: gelu) }
    case "permuted_tokens":
        return { t in
            let (permutation, inverse) = permutationAndInverse(t[1])
            return t[0].uformerPermutedTokens(permutation, inverse: inverse)
        }
    case "channel_linear_residual":
        return { t in Tensor.uformerChannelLinear(t[0], weight: t[1], bias: t[2], residual: t[3]) }
    case "permuted_tokens_modulator":
        return { t in
            let (permutation, inverse) = permutationAndInverse(t[1])
            return t[0].uformerPermutedTokens(permutation, inverse: inverse, adding: t[2].transposed())
        }
    case "adding_permuted_tokens":
        return { t in
            let (permutation, inverse) = permutationAndInverse(t[2])
            return t[0].addingUformerPermutedTokens(t[1], permutation: permutation, inverse: inverse)
        }
    case "window_attention":
        return { t in
            Tensor.uformerWindowAttention(q: t[0], k: t[1], v: t[2], heads: p["heads"]!.int, windowTokens: p["n"]!.int,
                                          bias: t[3], mask: t.count > 4 ? t[4] : nil)
        }
    default: fatalError("unknown op \(c.op)")
    }
}

/// A permutation stored as float64 values, as int64 indices, and its inverse.
private func permutationAndInverse(_ values: Tensor) -> (Tensor, Tensor) {
    let permutation = values.cast(to: .int64)
    var inverse = [Int](repeating: 0, count: permutation.count)
    for (i, p) in permutation.integers.enumerated() { inverse[p] = i }
    return (permutation, Tensor(shape: [inverse.count], indices: inverse))
}

@Suite("Uformer fused ops: channel-major Linear (+GELU), token permutation, window attention")
struct UformerFusedTests {
    static let cases = (try? loadReferenceCases("uformer_fused")) ?? []

    @Test func vectorsLoad() { #expect(Self.cases.count == 9) }

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, fusedOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5, fusedOp(c))
    }

    /// Without a graph the kernels take other paths (GELU in place, softmax in scratch): same values.
    @Test("match PyTorch without a graph", arguments: cases.map(\.name))
    func matchesPyTorchWithoutGraph(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        for dtype in [DType.float64, .float32] {
            let y = withoutGradients { fusedOp(c)(c.orderedInputs(dtype)) }
            expectClose(y, c.output.tensor(dtype), rtol: dtype == .float64 ? 1e-10 : 1e-5,
                        atol: dtype == .float64 ? 1e-12 : 1e-5, "\(c.name) output without graph")
        }
    }

    @Test("pass float64 gradient checks", arguments: cases.filter { !$0.grads.isEmpty }.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let op = fusedOp(c)
        let report = gradCheckDifferentiableInputs(c, op)
        #expect(report.passed, "\(report)")
    }

    /// k and v as the two channel halves of one projection (an image stride of 2C·L) give what
    /// contiguous copies give, forward and backward.
    @Test func channelSlicesOfOneProjection() throws {
        var generator = RandomGenerator(seed: 16)
        let (b, c, n, windows, heads) = (2, 4, 4, 3, 2)
        let q = Tensor.uniform([b, c, windows * n], low: -1, high: 1, dtype: .float64, using: &generator)
        let kv = Tensor.uniform([b, 2 * c, windows * n], low: -1, high: 1, dtype: .float64, using: &generator)
        let bias = Tensor.uniform([heads, n, n], low: -1, high: 1, dtype: .float64, using: &generator)
        func run(_ kv: Tensor, sliced: Bool) -> (Tensor, [Tensor]) {
            let leaf = kv.requiringGrad()
            var k = leaf.narrowed(axis: 1, start: 0, length: c), v = leaf.narrowed(axis: 1, start: c, length: c)
            if !sliced { (k, v) = (k.contiguous(), v.contiguous()) }
            let y = Tensor.uformerWindowAttention(q: q, k: k, v: v, heads: heads, windowTokens: n, bias: bias, mask: nil)
            return (y, (y * y).sum().gradients(wrt: [leaf]))
        }
        let (sliced, slicedGrad) = run(kv, sliced: true), (copied, copiedGrad) = run(kv, sliced: false)
        #expect(sliced.doubles == copied.doubles)
        #expect(slicedGrad[0].doubles == copiedGrad[0].doubles)
        #expect(slicedGrad[0].doubles.contains { $0 != 0 })
    }

    /// The packed form (one [B, 3C, L] projection, one gradient written in place) gives the
    /// values and gradients of q, k, v as three separate tensors, in Float64 and in Float32 (the C
    /// kernel), with a mask, and a gradient for the bias.
    @Test(arguments: [DType.float64, .float32])
    func packedProjectionEqualsThreeTensors(_ dtype: DType) {
        var generator = RandomGenerator(seed: 17)
        let (b, c, n, windows, heads) = (2, 8, 16, 3, 2)
        let qkv = Tensor.uniform([b, 3 * c, windows * n], low: -1, high: 1, dtype: dtype, using: &generator)
        let bias = Tensor.uniform([heads, n, n], low: -1, high: 1, dtype: dtype, using: &generator)
        let mask = Tensor(shape: [windows, n, n], scalars: (0..<(windows * n * n)).map { ($0 / 7) % 3 == 0 ? -100.0 : 0 }).cast(to: dtype)
        let upstream = Tensor.uniform([b, c, windows * n], low: -1, high: 1, dtype: dtype, using: &generator)
        let (packedLeaf, packedBias) = (qkv.requiringGrad(), bias.requiringGrad())
        let packed = Tensor.uformerWindowAttention(qkv: packedLeaf, heads: heads, windowTokens: n, bias: packedBias, mask: mask)
        let packedGrads = (packed * upstream).sum().gradients(wrt: [packedLeaf, packedBias])
        let parts = (0..<3).map { qkv.narrowed(axis: 1, start: $0 * c, length: c).contiguous().requiringGrad() }
        let separateBias = bias.requiringGrad()
        let separate = Tensor.uformerWindowAttention(q: parts[0], k: parts[1], v: parts[2], heads: heads, windowTokens: n,
                                                     bias: separateBias, mask: mask)
        let separateGrads = (separate * upstream).sum().gradients(wrt: parts + [separateBias])
        #expect(packed.cast(to: .float64).doubles == separate.cast(to: .float64).doubles)
        let joined = Tensor.concatenated(Array(separateGrads[0..<3]), axis: 1)
        #expect(packedGrads[0].cast(to: .float64).doubles == joined.cast(to: .float64).doubles)
        #expect(packedGrads[1].cast(to: .float64).doubles == separateGrads[3].cast(to: .float64).doubles)
        #expect(packedGrads[0].cast(to: .float64).doubles.contains { $0 != 0 })
    }
}
