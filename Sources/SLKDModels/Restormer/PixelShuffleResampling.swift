// Restormer's `Downsample` and `Upsample` (`restormer_arch.py`), also DRSformer's: a 3×3
// convolution, then pixel-(un)shuffle between U-Net levels. Keys follow the official state_dict.

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
