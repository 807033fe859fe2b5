import RealModule

extension Gradients {
    /// The Euclidean norm of the gradients of `model`'s trainable parameters, taken together.
    public func globalNorm(of model: Module) -> Double {
        var total = 0.0
        for (_, parameter) in model.trainableParameters() {
            guard let g = self[parameter] else { continue }
            total += Gradients.sumOfSquares(g)
        }
        return total.squareRoot()
    }

    /// Scales the gradients of `model`'s trainable parameters so that their global norm is at
    /// most `maxNorm`, as PyTorch's `clip_grad_norm_`: the factor is
    /// min(1, maxNorm / (‖g‖ + 1e-6)). Returns the norm before clipping.
    @discardableResult
    public mutating func clipGlobalNorm(of model: Module, maxNorm: Double) -> Double {
        let norm = globalNorm(of: model)
        let factor = maxNorm / (norm + 1e-6)
        guard factor < 1 else { return norm }
        for (_, parameter) in model.trainableParameters() {
            guard let node = parameter.gradNode, let entry = byNode[ObjectIdentifier(node)] else { continue }
            byNode[ObjectIdentifier(node)] = (entry.node, Gradients.scaled(entry.grad, by: factor))
        }
        return norm
    }

    static func sumOfSquares(_ g: Tensor) -> Double {
        guard g.dtype.isFloatingPoint else { return 0 }
        func run<T: TensorScalar>(_: T.Type) -> Double { g.withContiguousScalars(T.self) { sumOfSquares($0) } }
        return g.dtype.withFloatType { run($0) }
    }

    /// Σx² accumulated in double, in eight independent lanes (a single running sum serialises
    /// on the add latency).
    static func sumOfSquares<T: TensorScalar>(_ b: UnsafeBufferPointer<T>) -> Double {
        var lanes = SIMD8<Double>()
        var i = 0
        while i + 8 <= b.count {
            var x = SIMD8<Double>()
            for k in 0..<8 { x[k] = Double(b[i + k]) }
            lanes.addProduct(x, x)
            i += 8
        }
        var total = lanes.sum()
        while i < b.count { total += Double(b[i]) * Double(b[i]); i += 1 }
        return total
    }

    static func scaled(_ g: Tensor, by factor: Double) -> Tensor {
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let f = T(factor)
            return g.withContiguousScalars(T.self) { source in
                Tensor.make(g.shape, T.self) { out in
                    for i in 0..<out.count { out[i] = source[i] * f }
                }
            }
        }
        guard g.dtype.isFloatingPoint else { return g }
        return g.dtype.withFloatType { run($0) }
    }
}
