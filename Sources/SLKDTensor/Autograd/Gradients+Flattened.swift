/// Tensors laid end to end, one buffer per precision: what a data-parallel trainer hands to an
/// all-reduce or a broadcast, in an order every process agrees on. Int64 tensors carry no
/// buffer (nothing collective is done with them).
public struct FlatTensors: Sendable, Equatable {
    /// The float32 tensors' elements, in order.
    public var floats: [Float]
    /// The float64 tensors' elements, in order.
    public var doubles: [Double]

    /// `tensors` laid end to end.
    public init(_ tensors: [Tensor]) {
        floats = []
        doubles = []
        for tensor in tensors {
            switch tensor.dtype {
            case .float32: floats += tensor.floats
            case .float64: doubles += tensor.doubles
            case .int64: continue
            }
        }
    }

    /// The tensors again, shaped and typed as `templates` (the list these buffers were laid out
    /// from); an int64 template is returned as it is.
    ///
    /// - Precondition: the buffers hold exactly the templates' elements (they come from this
    ///   process's own layout, never from a file).
    public func unflattened(like templates: [Tensor]) -> [Tensor] {
        var floatOffset = 0, doubleOffset = 0
        let result = templates.map { template -> Tensor in
            let n = template.count
            switch template.dtype {
            case .float32:
                defer { floatOffset += n }
                return Tensor(shape: template.shape, scalars: Array(floats[floatOffset..<(floatOffset + n)]))
            case .float64:
                defer { doubleOffset += n }
                return Tensor(shape: template.shape, scalars: Array(doubles[doubleOffset..<(doubleOffset + n)]))
            case .int64:
                return template
            }
        }
        precondition(floatOffset == floats.count && doubleOffset == doubles.count,
                     "flat buffers of \(floats.count)+\(doubles.count) elements do not fit the templates")
        return result
    }
}

extension Gradients {
    /// The gradients of `model`'s trainable parameters, flattened in `trainableParameters()` order;
    /// a parameter that took no part contributes zeros, so that every process lays out the same
    /// buffers.
    public func flattened(of model: Module) -> FlatTensors {
        FlatTensors(model.trainableParameters().map { _, parameter in
            self[parameter] ?? Tensor.zeros(parameter.shape, dtype: parameter.dtype)
        })
    }

    /// Replaces the gradients of `model`'s trainable parameters with the values of `flat`, laid out
    /// as ``flattened(of:)`` lays them out.
    public mutating func replace(of model: Module, with flat: FlatTensors) {
        let parameters = model.trainableParameters().map(\.tensor)
        for (parameter, gradient) in zip(parameters, flat.unflattened(like: parameters)) where parameter.dtype.isFloatingPoint {
            if let node = parameter.gradNode { byNode[ObjectIdentifier(node)] = (node, gradient) }
        }
    }
}
