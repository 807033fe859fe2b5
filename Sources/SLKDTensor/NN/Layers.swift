/// A module that maps one tensor to one tensor, so that it can be chained in a ``Sequential``.
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// Layers applied in order, with children keyed `"0"`, `"1"`, … as in PyTorch's `nn.Sequential`
/// (and `nn.ModuleList`: parameter-free layers still take an index).
public final class Sequential: Module, UnaryLayer {
    public let layers: [any UnaryLayer]

    public init(_ layers: [any UnaryLayer]) {
        self.layers = layers
        super.init()
    }

    public convenience init(_ layers: any UnaryLayer...) { self.init(layers) }

    public override var namedChildren: [(key: String, module: Module)] {
        layers.enumerated().map { (String($0.offset), $0.element as Module) }
    }

    public override var namedSlots: [(key: String, slot: ParameterSlot)] { [] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }

    public var count: Int { layers.count }
    public subscript(_ index: Int) -> any UnaryLayer { layers[index] }
}

/// A parameter-free layer made from a function (an activation inside a ``Sequential``).
public final class Lambda: Module, UnaryLayer {
    let function: (Tensor) -> Tensor

    public init(_ function: @escaping (Tensor) -> Tensor) {
        self.function = function
        super.init()
    }

    public override var namedChildren: [(key: String, module: Module)] { [] }
    public override var namedSlots: [(key: String, slot: ParameterSlot)] { [] }

    public func callAsFunction(_ x: Tensor) -> Tensor { function(x) }
}

/// A fully connected layer, `y = x·Wᵀ + b`, with PyTorch's `nn.Linear` weight layout
/// `[out, in]` and initialisation (Kaiming-uniform weight with a = √5, i.e. U(±1/√in), and bias
/// U(±1/√in)).
public final class Linear: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor?

    /// A layer with given weights: `weight` is `[out, in]`, `bias` is `[out]`.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "Linear weight must be [out, in], got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]],
                     "Linear bias must be [\(weight.shape[0])], got \(bias!.shape)")
        self.weight = weight
        self.bias = bias
        super.init()
    }

    /// A freshly initialised layer.
    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .float32,
                            using generator: inout RandomGenerator) {
        let w = Tensor.kaimingUniform([outFeatures, inFeatures], dtype: dtype, using: &generator)
        let bound = 1 / Double(inFeatures).squareRoot()
        let b = bias ? Tensor.uniform([outFeatures], low: -bound, high: bound, dtype: dtype, using: &generator) : nil
        self.init(weight: w, bias: b)
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `x` is `[…, in]`; the result is `[…, out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
}

extension Tensor {
    /// `self·Wᵀ + b` over the last axis (PyTorch `F.linear`): `self` is `[…, in]`, `weight`
    /// `[out, in]`, `bias` `[out]`; the result is `[…, out]`.
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        precondition(rank >= 1 && shape[rank - 1] == inFeatures,
                     "linear(\(inFeatures)→\(outFeatures)) got input \(shape)")
        // One GEMM over all leading axes: [N, in] · [in, out]; fvcore counts it as `linear`.
        MACCounter.record(.linear, weight: weight, Shape.count(Array(shape.dropLast())) * inFeatures * outFeatures)
        var y = Tensor.uncountedMatmul(reshaped([-1, inFeatures]), weight.transposed())
        if let bias { y = y + bias }
        return y.reshaped(Array(shape.dropLast()) + [outFeatures])
    }
}
