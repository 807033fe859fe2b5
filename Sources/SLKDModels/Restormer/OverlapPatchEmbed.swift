// Restormer's `OverlapPatchEmbed` (`restormer_arch.py`), also DRSformer's stem.

/// `OverlapPatchEmbed`: a 3×3 convolution from the image to `dim` channels (key `proj`).
public final class OverlapPatchEmbed: Module, UnaryLayer {
    public let proj: Conv2d

    public init(inChannels: Int, dim: Int, bias: Bool, using generator: inout RandomGenerator) {
        proj = Conv2d(inChannels, dim, kernelSize: 3, padding: 1, bias: bias, using: &generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { proj(x) }
}
