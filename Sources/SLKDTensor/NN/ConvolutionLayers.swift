/// A 2-D convolution layer, PyTorch's `nn.Conv2d`: weight `[out, in/groups, kH, kW]`, optional
/// bias `[out]`, zero padding, and PyTorch's initialisation (Kaiming-uniform with a = √5 and a
/// bias drawn from U(±1/√fan_in)).
public final class Conv2d: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor?
    public let stride: Int
    public let padding: Int
    public let dilation: Int
    public let groups: Int

    /// A layer with given weights.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        precondition(weight.rank == 4, "Conv2d weight must be [out, in/groups, kH, kW], got \(weight.shape)")
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    /// A freshly initialised layer.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true, dtype: DType = .float32,
                            using generator: inout RandomGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: \(inChannels)→\(outChannels) channels do not split into \(groups) groups")
        let shape = [outChannels, inChannels / groups, kernelSize, kernelSize]
        let w = Tensor.kaimingUniform(shape, dtype: dtype, using: &generator)
        let bound = 1 / Double(Tensor.fans(of: shape).fanIn).squareRoot()
        let b = bias ? Tensor.uniform([outChannels], low: -bound, high: bound, dtype: dtype, using: &generator) : nil
        self.init(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public var inChannels: Int { weight.shape[1] * groups }
    public var outChannels: Int { weight.shape[0] }
    public var kernelSize: Int { weight.shape[2] }

    /// `x` is `N×C_in×H×W`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// The layer followed by a ReLU, as one op (``Tensor/conv2dReLU(_:weight:bias:stride:padding:dilation:groups:)``).
    public func withReLU(_ x: Tensor) -> Tensor {
        Tensor.conv2dReLU(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// A transposed 2-D convolution layer, PyTorch's `nn.ConvTranspose2d`: weight
/// `[in, out/groups, kH, kW]`, optional bias `[out]`, PyTorch's initialisation.
public final class ConvTranspose2d: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor?
    public let stride: Int
    public let padding: Int
    public let groups: Int

    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, groups: Int = 1) {
        precondition(weight.rank == 4, "ConvTranspose2d weight must be [in, out/groups, kH, kW], got \(weight.shape)")
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.groups = groups
        super.init()
    }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            groups: Int = 1, bias: Bool = true, dtype: DType = .float32,
                            using generator: inout RandomGenerator) {
        let shape = [inChannels, outChannels / groups, kernelSize, kernelSize]
        let w = Tensor.kaimingUniform(shape, dtype: dtype, using: &generator)
        let bound = 1 / Double(Tensor.fans(of: shape).fanIn).squareRoot()
        let b = bias ? Tensor.uniform([outChannels], low: -bound, high: bound, dtype: dtype, using: &generator) : nil
        self.init(weight: w, bias: b, stride: stride, padding: padding, groups: groups)
    }

    public var inChannels: Int { weight.shape[0] }
    public var outChannels: Int { weight.shape[1] * groups }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.convTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding, groups: groups)
    }
}
