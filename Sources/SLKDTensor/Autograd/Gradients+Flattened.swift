/// The gradients of a module's trainable parameters laid end to end, one buffer per precision:
/// what a data-parallel trainer hands to an all-reduce, in a fixed order (the module's
/// `trainableParameters()` order) that every process agrees on.
public struct FlattenedGradients: Sendable, Equatable {
    /// The gradients of the float32 parameters, in order (zeros for a parameter without one).
    public var floats: [Float]
    /// The gradients of the float64 parameters, in order.
    public var doubles: [Double]
}

extension Gradients {
    /// The gradients of `model`'s trainable parameters, flattened; a parameter that took no part
    /// contributes zeros, so that every process lays out the same buffers.
    public func flattened(of model: Module) -> FlattenedGradients {
        var result = FlattenedGradients(floats: [], doubles: [])
        for (_, parameter) in model.trainableParameters() {
            let gradient = self[parameter]
            switch parameter.dtype {
            case .float32: result.floats += gradient?.floats ?? [Float](repeating: 0, count: parameter.count)
            case .float64: result.doubles += gradient?.doubles ?? [Double](repeating: 0, count: parameter.count)
            case .int64: continue
            }
        }
        return result
    }

    /// Replaces the gradients of `model`'s trainable parameters with the values of `flat`, laid out
    /// as ``flattened(of:)`` lays them out.
    ///
    /// - Precondition: `flat` has exactly the elements ``flattened(of:)`` gives for `model` (the
    ///   buffers come from this process's own call, never from a file).
    public mutating func replace(of model: Module, with flat: FlattenedGradients) {
        var floatOffset = 0, doubleOffset = 0
        for (_, parameter) in model.trainableParameters() {
            let n = parameter.count
            let gradient: Tensor
            switch parameter.dtype {
            case .float32:
                gradient = Tensor(shape: parameter.shape, scalars: Array(flat.floats[floatOffset..<(floatOffset + n)]))
                floatOffset += n
            case .float64:
                gradient = Tensor(shape: parameter.shape, scalars: Array(flat.doubles[doubleOffset..<(doubleOffset + n)]))
                doubleOffset += n
            case .int64:
                continue
            }
            if let node = parameter.gradNode { byNode[ObjectIdentifier(node)] = (node, gradient) }
        }
        precondition(floatOffset == flat.floats.count && doubleOffset == flat.doubles.count,
                     "flattened gradients of \(flat.floats.count)+\(flat.doubles.count) elements do not fit the module")
    }
}
