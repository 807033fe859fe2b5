import Testing
import SLKDTensor

/// Uformer's window attention runs per block in the C target (`slkd_window_attention_*_f32`).
/// Its products fuse multiply–adds on AVX2 and AVX-512 and round product and sum separately on
/// the baseline, so the baseline's bits differ from the wide paths' (the one kernel where they
/// do); the two wide paths agree bit for bit. Part of the serialized "SIMD paths" suite.
extension SIMDPathTests {
    /// Output and the gradients of q, k, v and the bias under a fixed upstream gradient.
    static func windowAttentionRun(_ t: [Tensor], heads: Int, n: Int, upstream: Tensor) -> [Tensor] {
        let leaves = t[0..<4].map { $0.requiringGrad() }
        let y = Tensor.uformerWindowAttention(q: leaves[0], k: leaves[1], v: leaves[2], heads: heads, windowTokens: n,
                                              bias: leaves[3], mask: t.count > 4 ? t[4] : nil)
        return [y.detached()] + (y * upstream).sum().gradients(wrt: Array(leaves))
    }

    /// The PyTorch vectors of `uformer_fused.json` (plain and masked) on every path, and random
    /// blocks of 64 tokens with 16 and 32 channels per head (Ufor-SL's and Uformer-B's) and of 9
    /// tokens (a 3×3 window: column tails and the transposes' scalar form), with and without a
    /// −100 shift mask: every path within 1e-5 of the Float64 result (relative to the largest
    /// value), AVX2 equal to AVX-512 bit for bit.
    @Test("window attention: PyTorch's vectors and Float64 on every path, the wide paths alike", arguments: SIMDPath.supported)
    func windowAttentionPaths(_ path: SIMDPath) throws {
        let cases = try loadReferenceCases("uformer_fused").filter { $0.op == "window_attention" }
        #expect(cases.count == 2)
        SIMDPath.withPath(path) {
            for c in cases {
                checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5) { t in
                    Tensor.uformerWindowAttention(q: t[0], k: t[1], v: t[2], heads: c.params["heads"]!.int,
                                                  windowTokens: c.params["n"]!.int, bias: t[3], mask: t.count > 4 ? t[4] : nil)
                }
            }
        }
        var rng = RandomGenerator(seed: 41)
        for (n, d, heads, masked) in [(64, 16, 2, true), (64, 32, 1, false), (9, 16, 2, true)] {
            let windows = 3, shape = [2, d * heads, windows * n]
            var inputs = (0..<3).map { _ in Tensor.uniform(shape, low: -1, high: 1, dtype: .float32, using: &rng) }
            inputs.append(Tensor.uniform([heads, n, n], low: -0.5, high: 0.5, dtype: .float32, using: &rng))
            if masked {
                // The shift mask's values: 0 within a region, −100 across.
                inputs.append(Tensor(shape: [windows, n, n], scalars: (0..<(windows * n * n)).map { i -> Float in
                    let (w, key, query) = (i / (n * n), (i / n) % n, i % n)
                    return w > 0 && (key < n / 2) != (query < n / 2) ? -100 : 0
                }))
            }
            let upstream = Tensor.uniform(shape, low: -1, high: 1, dtype: .float32, using: &rng)
            let label = "n \(n), d \(d), \(heads) heads\(masked ? ", masked" : "") on \(path)"
            let got = SIMDPath.withPath(path) { Self.windowAttentionRun(inputs, heads: heads, n: n, upstream: upstream) }
            let exact = Self.windowAttentionRun(inputs.map { $0.cast(to: .float64) }, heads: heads, n: n,
                                                upstream: upstream.cast(to: .float64))
            for (k, (g, e)) in zip(got, exact).enumerated() {
                let scale = Swift.max(1, e.doubles.map(Swift.abs).max() ?? 1)
                expectClose(g.cast(to: .float64), e, rtol: 1e-5, atol: 1e-5 * scale, "output \(k), \(label)")
            }
            if path != .baseline && SIMDPath.supported.contains(.avx2) {
                let avx2 = SIMDPath.withPath(.avx2) { Self.windowAttentionRun(inputs, heads: heads, n: n, upstream: upstream) }
                for (k, (g, a)) in zip(got, avx2).enumerated() {
                    #expect(g.floats.map(\.bitPattern) == a.floats.map(\.bitPattern), "output \(k), \(label) against AVX2")
                }
            }
        }
    }
}
