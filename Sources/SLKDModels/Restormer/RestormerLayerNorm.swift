// Restormer's `LayerNorm` module (`restormer_arch.py`), also DRSformer's: the channel LayerNorm
// under its `body` key.

/// Restormer's `LayerNorm(dim, LayerNorm_type)`: channel LayerNorm at every pixel, parameters
/// under `body.weight` (and `body.bias` for WithBias).
public final class RestormerLayerNorm: Module, UnaryLayer {
    public let body: ChannelLayerNorm

    public init(_ channels: Int, kind: ChannelLayerNormKind) {
        body = ChannelLayerNorm(channels, kind: kind)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { body(x) }
}
