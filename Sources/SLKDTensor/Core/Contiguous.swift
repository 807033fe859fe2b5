extension Tensor {
    /// This tensor if its elements are already contiguous, otherwise a contiguous copy.
    ///
    /// The copy keeps the autograd history: its gradient is passed through unchanged.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let result = materialize()
        return Autograd.record(result, inputs: [self]) { grad in [grad] }
    }

    /// A contiguous copy of this view's elements, outside autograd.
    @usableFromInline
    func materialize() -> Tensor {
        dtype.withElementType { materialize($0) }
    }

    @inlinable
    func materialize<T>(_: T.Type) -> Tensor {
        Tensor.make(shape, T.self, dtype: dtype) { out in
            copyElements(into: out.baseAddress!, strides: Shape.contiguousStrides(shape), T.self)
        }
    }
}
