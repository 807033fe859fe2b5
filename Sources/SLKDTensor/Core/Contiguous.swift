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
        let source = basePointer(T.self)
        let loop = StridedLoop(shape: shape, strides: [Shape.contiguousStrides(shape), strides])
        return Tensor.make(shape, T.self, dtype: dtype) { out in
            let dst = out.baseAddress!
            let n = loop.inner
            let ds = loop.innerStrides[0], ss = loop.innerStrides[1]
            Parallel.forChunks(loop.outerCount, grain: Swift.max(1, 32_768 / Swift.max(n, 1))) { runs in
                loop.forEachRun(in: runs) { offsets in
                    let d = dst + offsets[0], s = source + offsets[1]
                    if ds == 1 && ss == 1 {
                        d.update(from: s, count: n)
                    } else {
                        for i in 0..<n { d[i * ds] = s[i * ss] }
                    }
                }
            }
        }
    }
}
