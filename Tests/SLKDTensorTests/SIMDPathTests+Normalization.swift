import Testing
import SLKDTensor

/// The Float channel LayerNorm runs in the C target (`slkd_channel_norm_*_f32`): forward and
/// input gradient lane by lane with the generic kernel's operations, the parameter gradients in
/// 16 fixed lanes. Part of the serialized "SIMD paths" suite (`withPath` is process-wide).
extension SIMDPathTests {
    /// One channel LayerNorm's output and its gradients for x, weight and bias.
    static func channelNormRun(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ upstream: Tensor) -> [Tensor] {
        let (xv, wv, bv) = (x.requiringGrad(), w.requiringGrad(), b?.requiringGrad())
        let y = xv.channelLayerNorm(weight: wv, bias: bv, kind: bv == nil ? .biasFree : .withBias)
        let grads = (y * upstream).sum().gradients(wrt: [xv, wv] + (bv.map { [$0] } ?? []))
        return [y.detached()] + grads
    }

    /// Lanes in one 256-lane pass plus a tail (300), a tail only (12) and exact 16-lane multiples
    /// (32), both variants: every path gives the baseline's bits for y, ∂x, ∂w and ∂b; y and ∂x
    /// also equal, bit for bit, the last-axis LayerNorm of the NHWC permutation (a separate
    /// scalar Swift loop with the same operations), and all four match Float64.
    @Test("channel LayerNorm: the baseline's bits on every path, the scalar loop's, and Float64", arguments: SIMDPath.supported)
    func channelLayerNormPaths(_ path: SIMDPath) {
        var rng = RandomGenerator(seed: 31)
        for (channels, height, width) in [(7, 15, 20), (5, 3, 4), (16, 4, 8)] {
            for centred in [true, false] {
                let shape = [2, channels, height, width]
                let x = Tensor.uniform(shape, low: -2, high: 3, dtype: .float32, using: &rng)
                let w = Tensor.uniform([channels], low: 0.5, high: 1.5, dtype: .float32, using: &rng)
                let b = centred ? Tensor.uniform([channels], low: -1, high: 1, dtype: .float32, using: &rng) : nil
                let upstream = Tensor.uniform(shape, low: -1, high: 1, dtype: .float32, using: &rng)
                let label = "\(shape), \(centred ? "WithBias" : "BiasFree") on \(path)"
                let baseline = SIMDPath.withPath(.baseline) { Self.channelNormRun(x, w, b, upstream) }
                let wide = SIMDPath.withPath(path) { Self.channelNormRun(x, w, b, upstream) }
                for (k, (got, want)) in zip(wide, baseline).enumerated() {
                    #expect(got.floats.map(\.bitPattern) == want.floats.map(\.bitPattern), "output \(k), \(label)")
                }
                if centred {
                    // The last-axis kernel has only the centred variant's scalar backward.
                    let nhwc = x.permuted([0, 2, 3, 1]).contiguous().requiringGrad()
                    let yLast = nhwc.layerNorm(weight: w, bias: b)
                    let dLast = (yLast * upstream.permuted([0, 2, 3, 1])).sum().gradients(wrt: [nhwc])[0]
                    let yBack = yLast.permuted([0, 3, 1, 2]).contiguous(), dBack = dLast.permuted([0, 3, 1, 2]).contiguous()
                    #expect(wide[0].floats.map(\.bitPattern) == yBack.floats.map(\.bitPattern), "y against the scalar loop, \(label)")
                    #expect(wide[1].floats.map(\.bitPattern) == dBack.floats.map(\.bitPattern), "∂x against the scalar loop, \(label)")
                }
                let exact = Self.channelNormRun(x.cast(to: .float64), w.cast(to: .float64), b?.cast(to: .float64),
                                                upstream.cast(to: .float64))
                for (k, (got, want)) in zip(wide, exact).enumerated() {
                    expectClose(got.cast(to: .float64), want, rtol: 1e-4, atol: 1e-4, "output \(k), \(label)")
                }
            }
        }
    }
}
