/// Instance normalisation with a per-channel affine map and no running statistics (PyTorch's
/// `nn.InstanceNorm2d(affine=True)`; the same in training and evaluation).
public final class InstanceNorm2d: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor
    public let eps: Double

    public init(_ channels: Int, eps: Double = 1e-5, dtype: DType = .float32) {
        weight = .ones([channels], dtype: dtype)
        bias = .zeros([channels], dtype: dtype)
        self.eps = eps
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let c = weight.shape[0]
        let mean = x.mean(axes: [2, 3], keepDims: true)
        let centred = x - mean
        let variance = centred.squared().mean(axes: [2, 3], keepDims: true)
        let normalised = centred / (variance + eps).sqrt()
        return normalised * weight.reshaped([1, c, 1, 1]) + bias.reshaped([1, c, 1, 1])
    }
}
