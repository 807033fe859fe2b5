import SLKDTensor

// Uformer's window attention, W-MSA (`model.py`: `LinearProjection`, `WindowAttention`; Wang et
// al. 2022, §3.2): self-attention inside non-overlapping windows of the channel-major token map.

/// `LinearProjection`: `to_q` (Linear D→D) and `to_kv` (Linear D→2D; k = first D outputs).
public final class LinearProjection: Module {
    @Submodule(key: "to_q") public var toQ: Linear
    @Submodule(key: "to_kv") public var toKV: Linear

    init(dim: Int, bias: Bool, using generator: inout RandomGenerator) {
        super.init()
        toQ = uformerLinear(dim, dim, bias: bias, using: &generator)
        toKV = uformerLinear(dim, 2 * dim, bias: bias, using: &generator)
    }
}

/// `WindowAttention` with `LinearProjection`: multi-head self-attention inside each window, with
/// a learned relative position bias.
public final class WindowAttention: Module {
    @Parameter(key: "relative_position_bias_table") public var relativePositionBiasTable: Tensor
    @Buffer(key: "relative_position_index") public var relativePositionIndex: Tensor
    public let qkv: LinearProjection
    public let proj: Linear
    public let numHeads: Int
    public let window: Int
    public let scale: Double

    init(dim: Int, window: Int, numHeads: Int, qkvBias: Bool, qkScale: Double?, using generator: inout RandomGenerator) {
        self.numHeads = numHeads
        self.window = window
        // `qk_scale or head_dim ** -0.5`: a zero scale falls back too, as Python's `or` does.
        self.scale = qkScale.flatMap { $0 == 0 ? nil : $0 } ?? 1 / Double(dim / numHeads).squareRoot()
        qkv = LinearProjection(dim: dim, bias: qkvBias, using: &generator)
        proj = uformerLinear(dim, dim, bias: true, using: &generator)
        super.init()
        relativePositionBiasTable = .truncatedNormal([(2 * window - 1) * (2 * window - 1), numHeads], std: 0.02,
                                                     using: &generator)
        relativePositionIndex = uformerRelativePositionIndex(window: window)
    }

    /// Attention inside windows. `x` is channel-major in window order, [B, C, nW, N] (token n of
    /// window w at [.., w, n], tokens row-major in the window); `mask` [nW, 1, N, N] is added to
    /// each window's logits. Returns the projected result in the same layout.
    ///
    /// The logits are built transposed, Sᵀ = k·qᵀ·scale as [keys, queries], so that the softmax
    /// runs over the second-to-last axis with 64 queries side by side in memory (a vectorised
    /// lane block) rather than along 64-element rows; A·v is then v·Sᵀ-softmax, which lands as
    /// [B, nW, h, d, N] = [B, nW, C, N] with the heads already merged channel-major.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (b, c, nw, n) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let h = numHeads, d = c / h
        let tokens = x.reshaped([b, c, nw * n])
        // Projections as W·X on all windows at once. q·scale is folded into to_q's weight and
        // bias (C² instead of L·C multiplies); k and v use to_kv's two row halves, so each lands
        // in its own contiguous tensor and the head split below is a view.
        let toQ = qkv.toQ, toKV = qkv.toKV
        func project(_ weight: Tensor, _ bias: Tensor?) -> Tensor {
            let y = Tensor.matmul(weight, tokens)
            return bias.map { y + $0.reshaped([c, 1]) } ?? y
        }
        let q = project(toQ.weight * scale, toQ.bias.map { $0 * scale })
        let k = project(toKV.weight.narrowed(axis: 0, start: 0, length: c), toKV.bias?.narrowed(axis: 0, start: 0, length: c))
        let v = project(toKV.weight.narrowed(axis: 0, start: c, length: c), toKV.bias?.narrowed(axis: 0, start: c, length: c))
        // [B, C, nW·N] → [B, nW, h, d, N]: per (window, head) a d×N matrix, row stride nW·N.
        func heads(_ t: Tensor) -> Tensor { t.reshaped([b, h, d, nw, n]).permuted([0, 3, 1, 2, 4]) }
        // One batched GEMM over all windows × heads; kᵀ is a transpose flag, not a copy.
        var logits = heads(k).transposed().matmul(heads(q))                                   // [B, nW, h, N_k, N_q]
        logits = logits + Tensor.relativePositionBias(table: relativePositionBiasTable,
                                                      index: relativePositionIndex.transposed())
        if let mask { logits = logits + mask }                                               // symmetric
        let out = heads(v).matmul(logits.softmax(axis: -2))                                  // [B, nW, h, d, N_q]
        let merged = out.reshaped([b, nw, c, n]).permuted([0, 2, 1, 3]).reshaped([b, c, nw * n])
        var y = Tensor.matmul(proj.weight, merged)
        if let bias = proj.bias { y = y + bias.reshaped([c, 1]) }
        return y.reshaped([b, c, nw, n])
    }
}
