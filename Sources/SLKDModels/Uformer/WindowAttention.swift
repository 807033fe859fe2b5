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
        let rows = (2 * window - 1) * (2 * window - 1)
        relativePositionBiasTable = .truncatedNormal([rows, numHeads], std: 0.02, using: &generator)
        relativePositionIndex = uformerRelativePositionIndex(window: window)
        // A checkpoint's index must stay inside the table, or the lookup would read past it:
        // loading refuses it instead (the official index is this one, always in range).
        $relativePositionIndex.requireValues { index in
            let entries = index.integers
            guard let i = entries.firstIndex(where: { $0 < 0 || $0 >= rows }) else { return nil }
            return "entry \(i) is \(entries[i]), outside the bias table's \(rows) rows"
        }
    }

    /// Attention inside windows. `x` is channel-major in window order, [B, C, nW, N] (token n of
    /// window w at [.., w, n], tokens row-major in the window); `mask` [nW, 1, N, N] is added to
    /// each window's logits. Returns the projected result in the same layout.
    ///
    /// The projections are W·X GEMMs on all windows at once with the bias folded in
    /// (`Tensor/uformerChannelLinear(_:weight:bias:gelu:)`); q·kᵀ, bias, mask, softmax and ·v
    /// run as one kernel per window and head (`Tensor/uformerWindowAttention(qkv:heads:windowTokens:bias:mask:)`),
    /// which writes the heads already merged channel-major.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (b, c, nw, n) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = x.reshaped([b, c, nw * n])
        // One projection for q, k and v, [B, 3C, L]: to_q's rows with q·scale folded in (C² instead
        // of L·C multiplies), then to_kv's (k, then v). One GEMM packs the tokens once, and the
        // attention writes the three gradients into one tensor.
        let toQ = qkv.toQ, toKV = qkv.toKV
        let weight = Tensor.concatenated(toQ.weight, scaledBy: scale, toKV.weight)
        precondition((toQ.bias == nil) == (toKV.bias == nil), "WindowAttention: to_q and to_kv must both have a bias or neither")
        let projectionBias = toQ.bias.flatMap { qBias in toKV.bias.map { Tensor.concatenated(qBias, scaledBy: scale, $0) } }
        let projected = Tensor.uformerChannelLinear(tokens, weight: weight, bias: projectionBias)
        // The official bias [h, query, key], transposed to the kernel's key-major logits.
        let bias = Tensor.relativePositionBias(table: relativePositionBiasTable, index: relativePositionIndex.transposed())
        let merged = Tensor.uformerWindowAttention(qkv: projected, heads: numHeads, windowTokens: n, bias: bias,
                                                   mask: mask)                             // symmetric: its own transpose
        return Tensor.uformerChannelLinear(merged, weight: proj.weight, bias: proj.bias).reshaped([b, c, nw, n])
    }
}
