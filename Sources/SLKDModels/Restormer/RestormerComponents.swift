// Building blocks shared by Restormer and DRSformer (restormer_arch.py / DRSformer_arch.py):
// the channel LayerNorm wrapper with its `body` key, the overlapped patch embedding, and the
// pixel-(un)shuffle resampling stages. Keys follow the official state_dict.

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

/// `OverlapPatchEmbed`: a 3×3 convolution from the image to `dim` channels (key `proj`).
public final class OverlapPatchEmbed: Module, UnaryLayer {
    public let proj: Conv2d

    public init(inChannels: Int, dim: Int, bias: Bool, using generator: inout RandomGenerator) {
        proj = Conv2d(inChannels, dim, kernelSize: 3, padding: 1, bias: bias, using: &generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { proj(x) }
}

/// `Downsample(n)`: 3×3 conv n → n/2 (no bias), then PixelUnshuffle(2): 2n channels at half size.
/// Key `body.0.weight`.
public final class Downsample: Module, UnaryLayer {
    public let body: Sequential

    public init(_ channels: Int, using generator: inout RandomGenerator) {
        body = Sequential([Conv2d(channels, channels / 2, kernelSize: 3, padding: 1, bias: false, using: &generator)])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { body(x).pixelUnshuffle(2) }
}

/// `Upsample(n)`: 3×3 conv n → 2n (no bias), then PixelShuffle(2): n/2 channels at double size.
/// Key `body.0.weight`.
public final class Upsample: Module, UnaryLayer {
    public let body: Sequential

    public init(_ channels: Int, using generator: inout RandomGenerator) {
        body = Sequential([Conv2d(channels, channels * 2, kernelSize: 3, padding: 1, bias: false, using: &generator)])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { body(x).pixelShuffle(2) }
}
