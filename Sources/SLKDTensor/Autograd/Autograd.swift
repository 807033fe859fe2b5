/// Records operations into the graph.
@usableFromInline
enum Autograd {
    /// Attaches a gradient rule to `result` if gradients are being recorded and any input needs
    /// one. The rule receives the gradient of `result` and returns one gradient per input, in
    /// order (nil for an input that needs none); gradients may have a broadcast shape — the
    /// engine sums them back to each input's shape.
    @usableFromInline
    static func record(_ result: Tensor, inputs: [Tensor], name: String = #function,
                       _ rule: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return result }
        var out = result
        out.gradNode = GradNode(inputs: inputs.map { $0.gradNode }, rule: rule, shape: result.shape,
                                dtype: result.dtype, isLeaf: false, name: name)
        return out
    }
}

extension Tensor {
    /// This tensor as a leaf of a new graph: later operations on it record gradients.
    public func requiringGrad() -> Tensor {
        precondition(dtype.isFloatingPoint, "only floating-point tensors can require gradients")
        var leaf = self
        leaf.gradNode = GradNode(inputs: [], rule: nil, shape: shape, dtype: dtype, isLeaf: true, name: "leaf")
        return leaf
    }

    /// The same values, cut from the graph.
    public func detached() -> Tensor {
        var copy = self
        copy.gradNode = nil
        return copy
    }

    /// Whether `self` and `other` are the same graph node (the same leaf, or the same result).
    public func isSameNode(as other: Tensor) -> Bool {
        guard let a = gradNode, let b = other.gradNode else { return false }
        return a === b
    }
}

extension Tensor {
    /// Attaches a hand-written gradient rule to a value computed outside autograd — the way other
    /// modules add differentiable operations with their own kernels.
    ///
    /// `value` must be computed from `inputs` without recording (e.g. from their `doubles`, or
    /// inside ``withoutGradients(_:)``). `gradient` receives the gradient of `value` and returns
    /// one gradient per input, in order, with the input's shape or one that broadcasts to it
    /// (nil for an input that needs none). Save what the rule needs as detached tensors.
    ///
    /// ```swift
    /// let y = Tensor.differentiable(value: fastBoxFilter(x), inputs: [x]) { g in [fastBoxFilter(g)] }
    /// ```
    public static func differentiable(value: Tensor, inputs: [Tensor], name: String = "custom",
                                      gradient: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        Autograd.record(value.detached(), inputs: inputs, name: name, gradient)
    }
}
