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
    /// The projections are W·X GEMMs on all windows at once with the bias folded in
    /// (``Tensor/uformerChannelLinear(_:weight:bias:gelu:)``); q·kᵀ, bias, mask, softmax and ·v
    /// run as one kernel per window and head (``Tensor/uformerWindowAttention(q:k:v:heads:windowTokens:bias:mask:)``),
    /// which writes the heads already merged channel-major.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (b, c, nw, n) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = x.reshaped([b, c, nw * n])
        // q·scale is folded into to_q's weight and bias (C² instead of L·C multiplies); k and v use
        // to_kv's two row halves, so each lands in its own contiguous tensor.
        let toQ = qkv.toQ, toKV = qkv.toKV
        func project(_ weight: Tensor, _ bias: Tensor?) -> Tensor {
            Tensor.uformerChannelLinear(tokens, weight: weight, bias: bias)
        }
        let q = project(toQ.weight * scale, toQ.bias.map { $0 * scale })
        let k = project(toKV.weight.narrowed(axis: 0, start: 0, length: c), toKV.bias?.narrowed(axis: 0, start: 0, length: c))
        let v = project(toKV.weight.narrowed(axis: 0, start: c, length: c), toKV.bias?.narrowed(axis: 0, start: c, length: c))
        // The official bias [h, query, key], transposed to the kernel's key-major logits.
        let bias = Tensor.relativePositionBias(table: relativePositionBiasTable, index: relativePositionIndex.transposed())
        let merged = Tensor.uformerWindowAttention(q: q, k: k, v: v, heads: numHeads, windowTokens: n, bias: bias,
                                                   mask: mask)                             // symmetric: its own transpose
        return Tensor.uformerChannelLinear(merged, weight: proj.weight, bias: proj.bias).reshaped([b, c, nw, n])
    }
}
