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
        switch g.dtype {
        case .float32: g.withContiguousScalars(Float.self) { b in b.reduce(0.0) { $0 + Double($1) * Double($1) } }
        case .float64: g.withContiguousScalars(Double.self) { b in b.reduce(0.0) { $0 + $1 * $1 } }
        case .int64: 0
        }
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
        switch g.dtype {
        case .float32: return run(Float.self)
        case .float64: return run(Double.self)
        case .int64: return g
        }
    }
}
