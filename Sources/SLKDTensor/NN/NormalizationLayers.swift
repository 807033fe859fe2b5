/// Layer normalisation over the last axis, PyTorch's `nn.LayerNorm(dim)` (eps 1e-5, weight
/// initialised to ones and bias to zeros).
public final class LayerNorm: Module, UnaryLayer {
    @Parameter public var weight: Tensor?
    @Parameter public var bias: Tensor?
    public let eps: Double

    public init(weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) {
        self.weight = weight
        self.bias = bias
        self.eps = eps
        super.init()
    }

    /// A freshly initialised layer over `dim` features.
    public convenience init(_ dim: Int, elementwiseAffine: Bool = true, eps: Double = 1e-5, dtype: DType = .float32) {
        self.init(weight: elementwiseAffine ? .ones([dim], dtype: dtype) : nil,
                  bias: elementwiseAffine ? .zeros([dim], dtype: dtype) : nil, eps: eps)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// Layer normalisation over the channels of an NCHW map at every pixel — Restormer's and
/// DRSformer's `LayerNorm` (`WithBias` or `BiasFree`), without the `to_3d`/`to_4d` round trip.
public final class ChannelLayerNorm: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor?
    public let kind: ChannelLayerNormKind

    public init(_ channels: Int, kind: ChannelLayerNormKind, dtype: DType = .float32) {
        self.kind = kind
        self.weight = .ones([channels], dtype: dtype)
        self.bias = kind == .withBias ? .zeros([channels], dtype: dtype) : nil
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.channelLayerNorm(weight: weight, bias: bias, kind: kind) }
}
