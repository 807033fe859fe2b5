// DRSformer's sparse transformer block (`DRSformer_arch.py`: `TransformerBlock`; Chen et al. 2023,
// §3.1): TKSA and MSFN, each behind a channel LayerNorm and a residual.

/// The Sparse Transformer Block (STB): `x = x + TKSA(norm1(x)); x = x + MSFN(norm2(x))`.
public final class SparseTransformerBlock: Module, UnaryLayer {
    public let norm1: RestormerLayerNorm
    public let attn: TopKSparseAttention
    public let norm2: RestormerLayerNorm
    public let ffn: MixedScaleFeedForward

    public init(dim: Int, heads: Int, expansion: Double, bias: Bool, layerNorm: ChannelLayerNormKind,
                using generator: inout RandomGenerator) {
        norm1 = RestormerLayerNorm(dim, kind: layerNorm)
        attn = TopKSparseAttention(dim: dim, heads: heads, bias: bias, using: &generator)
        norm2 = RestormerLayerNorm(dim, kind: layerNorm)
        ffn = MixedScaleFeedForward(dim: dim, expansion: expansion, bias: bias, using: &generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x + attn(norm1(x))
        return y + ffn(norm2(y))
    }
}
