// Operations that only change how the same elements are viewed: no copy unless a reshape of a
// non-contiguous view needs one.

extension Tensor {
    /// The same elements with a new shape; one entry may be -1 to be inferred. A view when the
    /// tensor is contiguous, otherwise a contiguous copy first.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[inferred] = count / known
        }
        precondition(Shape.count(target) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if target == shape { return self }
        let source = contiguous()
        let inputShape = shape
        let view = Tensor(storage: source.storage, shape: target, strides: Shape.contiguousStrides(target), offset: source.offset)
        return Autograd.record(view, inputs: [source]) { g in [g.reshaped(inputShape)] }
    }

    /// A one-dimensional view of all elements.
    public func flattened() -> Tensor { reshaped([count]) }

    /// Axes reordered: axis i of the result is axis `order[i]` of this tensor.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "permutation \(order) invalid for rank \(rank)")
        let view = Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return Autograd.record(view, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Two axes swapped (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(Shape.axis(a, rank: rank), Shape.axis(b, rank: rank))
        return permuted(order)
    }

    /// A broadcast view with the given shape (axes of size 1, or new leading axes, repeat).
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let view = Tensor(storage: storage, shape: target, strides: broadcastStrides(to: target), offset: offset)
        let inputShape = shape
        return Autograd.record(view, inputs: [self]) { g in [g.sum(toShape: inputShape)] }
    }

    /// Elements `start..<start+length` along `axis`, as a view.
    public func narrowed(axis: Int, start: Int, length: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        precondition(start >= 0 && length >= 0 && start + length <= shape[a],
                     "narrow \(start)..<\(start + length) out of range for axis \(a) of size \(shape[a])")
        var newShape = shape
        newShape[a] = length
        let view = Tensor(storage: storage, shape: newShape, strides: strides, offset: offset + start * strides[a])
        let inputShape = shape
        return Autograd.record(view, inputs: [self]) { g in
            [g.padded(axis: a, before: start, after: inputShape[a] - start - length)]
        }
    }

    /// Every `step`-th element of `range` along `axis`, as a view.
    public func sliced(axis: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        if step == 1 { return narrowed(axis: axis, start: range.lowerBound, length: range.count) }
        let a = Shape.axis(axis, rank: rank)
        precondition(step > 0 && range.lowerBound >= 0 && range.upperBound <= shape[a], "slice out of range")
        var newShape = shape, newStrides = strides
        newShape[a] = (range.count + step - 1) / step
        newStrides[a] = strides[a] * step
        let view = Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset + range.lowerBound * strides[a])
        let inputShape = shape
        return Autograd.record(view, inputs: [self]) { g in
            [g.scatteredStrided(into: inputShape, axis: a, start: range.lowerBound, step: step)]
        }
    }

    /// Inserts an axis of size 1 (a view, also of a non-contiguous tensor).
    public func unsqueezed(axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "unsqueeze axis \(axis) out of range for rank \(rank)")
        var newShape = shape
        newShape.insert(1, at: a)
        return withUnitAxes(newShape)
    }

    /// Removes axes of size 1 (all of them, or the one given), as a view.
    public func squeezed(axis: Int? = nil) -> Tensor {
        if let axis {
            let a = Shape.axis(axis, rank: rank)
            guard shape[a] == 1 else { return self }
            var newShape = shape
            newShape.remove(at: a)
            return withUnitAxes(newShape)
        }
        return withUnitAxes(shape.filter { $0 != 1 })
    }

    /// A view with size-1 axes added or removed: `target` without its 1s equals `shape` without
    /// its 1s. Unlike ``reshaped(_:)`` this never copies, since the other axes keep their strides.
    func withUnitAxes(_ target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(target.filter { $0 != 1 } == shape.filter { $0 != 1 },
                     "withUnitAxes: \(target) differs from \(shape) in more than size-1 axes")
        let kept = (0..<rank).filter { shape[$0] != 1 }.map { strides[$0] }
        var next = 0
        let newStrides = target.map { d -> Int in
            if d == 1 { return 1 }
            defer { next += 1 }
            return kept[next]
        }
        let view = Tensor(storage: storage, shape: target, strides: newStrides, offset: offset)
        let inputShape = shape
        return Autograd.record(view, inputs: [self]) { g in [g.withUnitAxes(inputShape)] }
    }

    /// Zero padding along one axis (used by gradient rules of narrowing and slicing).
    ///
    /// One pass that writes each element once: zeros before and after, the values between. Why:
    /// the gradient of every `chunk` of Restormer's GDFN and attention comes through here, and
    /// zero-filling, copying the zeros and then writing the slice took three passes (5 % of a
    /// Res-SL training step).
    func padded(axis: Int, before: Int, after: Int) -> Tensor {
        if before == 0 && after == 0 { return self }
        precondition(before >= 0 && after >= 0, "padded: negative padding \(before), \(after)")
        var newShape = shape
        newShape[axis] += before + after
        let values = contiguous().detached()
        return dtype.withElementType { Tensor.paddedKernel(values, newShape, axis: axis, before: before, after: after, $0) }
    }

    private static func paddedKernel<T: TensorElement>(_ values: Tensor, _ newShape: [Int], axis: Int, before: Int, after: Int,
                                        _: T.Type) -> Tensor {
        let inner = values.shape[(axis + 1)...].reduce(1, *), outer = values.shape[..<axis].reduce(1, *)
        let head = before * inner, body = values.shape[axis] * inner, tail = after * inner
        let row = head + body + tail
        let src = values.basePointer(T.self)
        return Tensor.make(newShape, T.self, dtype: values.dtype) { out in
            let dst = out.baseAddress!, zero = T(0.0)
            Parallel.forChunks(outer, grain: Swift.max(1, elementwiseGrain / Swift.max(row, 1))) { rows in
                for o in rows {
                    let d = dst + o * row
                    d.update(repeating: zero, count: head)
                    (d + head).update(from: src + o * body, count: body)
                    (d + head + body).update(repeating: zero, count: tail)
                }
            }
        }
    }

    /// Zeros of `shape` with this tensor written every `step` elements from `start` on `axis`.
    func scatteredStrided(into shape: [Int], axis: Int, start: Int, step: Int) -> Tensor {
        Tensor.zeros(shape, dtype: dtype).writing(self, axis: axis, start: start, step: step)
    }

    /// A copy of this contiguous tensor with `values` written at `start, start+step, …` on
    /// `axis` (no autograd; a building block for rules and for concatenation).
    func writing(_ values: Tensor, axis: Int, start: Int, step: Int) -> Tensor {
        let base = contiguous().detached()
        let result = base.materializeCopy()
        var strides = result.strides
        strides[axis] *= step
        let offset = start * result.strides[axis]
        dtype.withElementType { Tensor.copyStrided(values, into: result, shape: values.shape, strides: strides, offset: offset, $0) }
        return result
    }

    /// A fresh contiguous copy, even if this tensor is already contiguous (for in-place fills).
    func materializeCopy() -> Tensor {
        if !isContiguous { return materialize() }
        let n = count, bytes = n * dtype.byteSize
        let storage = TensorStorage(count: n, dtype: dtype)
        storage.pointer.copyMemory(from: self.storage.pointer + offset * dtype.byteSize, byteCount: bytes)
        return Tensor(contiguous: storage, shape: shape)
    }

    /// Copies `source` into `destination`'s (freshly made, not yet shared) storage through the
    /// given destination layout.
    static func copyStrided<T>(_ source: Tensor, into destination: Tensor, shape: [Int], strides: [Int],
                               offset: Int, _: T.Type) {
        let dst = destination.storage.typed(T.self) + destination.offset + offset
        let src = source.basePointer(T.self)
        let loop = StridedLoop(shape: shape, strides: [strides, source.broadcastStrides(to: shape)])
        let ds = loop.innerStrides[0], ss = loop.innerStrides[1], n = loop.inner
        loop.forEachRun(in: 0..<loop.outerCount) { offsets in
            let d = dst + offsets[0], s = src + offsets[1]
            for i in 0..<n { d[i * ds] = s[i * ss] }
        }
    }

    /// This tensor's elements converted to another dtype (float ↔ float carries gradients).
    public func cast(to target: DType) -> Tensor {
        if target == dtype { return self }
        let source = contiguous()
        let n = count
        let result: Tensor
        switch (source.dtype, target) {
        case (.float32, .float64): result = Tensor.make(shape, Double.self) { out in let p = source.basePointer(Float.self); for i in 0..<n { out[i] = Double(p[i]) } }
        case (.float64, .float32): result = Tensor.make(shape, Float.self) { out in let p = source.basePointer(Double.self); for i in 0..<n { out[i] = Float(p[i]) } }
        case (.int64, .float32): result = Tensor.make(shape, Float.self) { out in let p = source.basePointer(Int64.self); for i in 0..<n { out[i] = Float(p[i]) } }
        case (.int64, .float64): result = Tensor.make(shape, Double.self) { out in let p = source.basePointer(Int64.self); for i in 0..<n { out[i] = Double(p[i]) } }
        case (.float32, .int64): result = Tensor.make(shape, Int64.self, dtype: .int64) { out in let p = source.basePointer(Float.self); for i in 0..<n { out[i] = Int64(p[i]) } }
        case (.float64, .int64): result = Tensor.make(shape, Int64.self, dtype: .int64) { out in let p = source.basePointer(Double.self); for i in 0..<n { out[i] = Int64(p[i]) } }
        default: preconditionFailure()
        }
        guard target.isFloatingPoint else { return result }
        let sourceType = dtype
        return Autograd.record(result, inputs: [self]) { g in [g.cast(to: sourceType)] }
    }
}
