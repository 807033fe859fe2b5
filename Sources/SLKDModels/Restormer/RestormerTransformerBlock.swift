// Restormer's `TransformerBlock` (`restormer_arch.py`): MDTA and GDFN, each behind a channel
// LayerNorm and a residual. Keys follow the official state_dict.

/// Restormer's `TransformerBlock`: `x + attn(norm1(x))`, then `+ ffn(norm2(x))`.
public final class RestormerTransformerBlock: Module, UnaryLayer {
    public let norm1: RestormerLayerNorm
    public let attn: MultiDconvHeadTransposedAttention
    public let norm2: RestormerLayerNorm
    public let ffn: GatedDconvFeedForward

    public init(dim: Int, numHeads: Int, ffnExpansionFactor: Double, bias: Bool, layerNormType: Restormer.LayerNormType,
                using generator: inout RandomGenerator) {
        let kind = layerNormType.channelLayerNormKind
        norm1 = RestormerLayerNorm(dim, kind: kind)
        attn = MultiDconvHeadTransposedAttention(dim: dim, numHeads: numHeads, bias: bias, using: &generator)
        norm2 = RestormerLayerNorm(dim, kind: kind)
        ffn = GatedDconvFeedForward(dim: dim, expansionFactor: ffnExpansionFactor, bias: bias, using: &generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x + attn(norm1(x))
        return y + ffn(norm2(y))
    }
}
