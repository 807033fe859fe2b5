import RealModule

extension Tensor {
    /// The sum over `axes` (all when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = reductionAxes(axes)
        let kept = keptShape(reducing: ax)
        func run<T: TensorScalar>(_: T.Type) -> Tensor { reduce(axes: ax, SumReducer<T>.self) }
        var y = dtype.withFloatType("sum") { run($0) }
        if !keepDims { y = y.reshapedWithoutGrad(shapeDropping(ax)) }
        let inputShape = shape
        return Autograd.record(y, inputs: [self]) { g in [g.reshaped(kept).expanded(to: inputShape)] }
    }

    /// The sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Sums a broadcast gradient back to `target`, the shape it was broadcast from.
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        precondition(lead >= 0, "cannot sum \(shape) to the larger shape \(target)")
        var axes = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[i + lead] != 1 { axes.append(i + lead) }
        return sum(axes: axes, keepDims: true).reshaped(target)
    }

    /// The mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = reductionAxes(axes)
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) / Double(n)
    }

    /// The mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// The variance over `axes`; `unbiased` divides by n − 1 (Bessel's correction), else by n.
    public func variance(axes: [Int]? = nil, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        let ax = reductionAxes(axes)
        let n = ax.reduce(1) { $0 * shape[$1] }
        let centred = self - mean(axes: ax, keepDims: true)
        return centred.squared().sum(axes: ax, keepDims: keepDims) / Double(unbiased ? Swift.max(n - 1, 0) : n)
    }

    /// The largest element over `axes`; the gradient is shared equally among tied maxima.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes: axes, keepDims: keepDims, largest: true)
    }

    /// The smallest element over `axes`; the gradient is shared equally among tied minima.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes: axes, keepDims: keepDims, largest: false)
    }

    public func max(axis: Int, keepDims: Bool = false) -> Tensor { self.max(axes: [axis], keepDims: keepDims) }
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { self.min(axes: [axis], keepDims: keepDims) }

    private func extremum(axes: [Int]?, keepDims: Bool, largest: Bool) -> Tensor {
        let ax = reductionAxes(axes)
        let kept = keptShape(reducing: ax)
        let yKept: Tensor
        switch (dtype, largest) {
        case (.float32, true): yKept = reduce(axes: ax, MaxReducer<Float>.self)
        case (.float64, true): yKept = reduce(axes: ax, MaxReducer<Double>.self)
        case (.float32, false): yKept = reduce(axes: ax, MinReducer<Float>.self)
        case (.float64, false): yKept = reduce(axes: ax, MinReducer<Double>.self)
        default: preconditionFailure("max/min need a floating-point tensor")
        }
        let y = keepDims ? yKept : yKept.reshapedWithoutGrad(shapeDropping(ax))
        let x = detached()
        return Autograd.record(y, inputs: [self]) { g in
            let mask = x .== yKept
            let ties = mask.sum(axes: ax, keepDims: true)
            return [g.reshaped(kept) * mask / ties]
        }
    }

    /// The index of the largest element along `axis` (the first among ties), as `int64`.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor {
        argExtremum(axis: axis, keepDims: keepDims, largest: true)
    }

    /// The index of the smallest element along `axis` (the first among ties), as `int64`.
    public func argmin(axis: Int, keepDims: Bool = false) -> Tensor {
        argExtremum(axis: axis, keepDims: keepDims, largest: false)
    }

    private func argExtremum(axis: Int, keepDims: Bool, largest: Bool) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        // Move the axis last and make it contiguous, then scan each row.
        var order = Array(0..<rank)
        order.remove(at: a)
        order.append(a)
        let rows = permuted(order).detached().contiguous().cast(to: .float64)
        let n = shape[a]
        let m = n == 0 ? 0 : count / n
        let p = rows.basePointer(Double.self)
        var indices = [Int](repeating: 0, count: m)
        for r in 0..<m {
            var best = 0
            for i in 1..<Swift.max(n, 1) {
                let v = p[r * n + i], b = p[r * n + best]
                if b.isNaN { break }
                if v.isNaN || (largest ? v > b : v < b) { best = i }
            }
            indices[r] = best
        }
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        return Tensor(shape: outShape, indices: indices)
    }

    /// log Σ exp(x) over `axes`, computed stably by subtracting the maximum first.
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = reductionAxes(axes)
        var m = withoutGradients { self.max(axes: ax, keepDims: true) }
        m = Tensor.where(m.abs() .== m.scalarLike(.infinity), m.zerosLike(), m)
        let s = (self - m).exp().sum(axes: ax, keepDims: true).log() + m
        return keepDims ? s : s.reshaped(shapeDropping(ax))
    }

    /// The p-norm over `axes` (default: the Euclidean norm of all elements).
    ///
    /// Where the norm is zero the gradient is zero (PyTorch's choice of subgradient), not the
    /// NaN that differentiating `sqrt` or `pow(1/p)` at 0 would give.
    public func norm(_ p: Double = 2, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        if p == 1 { return abs().sum(axes: axes, keepDims: keepDims) }
        if p == .infinity { return abs().max(axes: axes, keepDims: keepDims) }
        let ax = reductionAxes(axes)
        let kept = keptShape(reducing: ax)
        let x = detached()
        let yKept = p == 2 ? x.squared().sum(axes: ax, keepDims: true).sqrt()
                           : x.abs().pow(p).sum(axes: ax, keepDims: true).pow(1 / p)
        let y = keepDims ? yKept : yKept.reshapedWithoutGrad(shapeDropping(ax))
        return Autograd.record(y, inputs: [self]) { g in
            // d‖x‖ₚ/dx = sign(x)·|x|^(p−1) / ‖x‖ₚ^(p−1).
            let scale = Tensor.where(yKept .== 0, yKept.zerosLike(), g.reshaped(kept) / yKept.pow(p - 1))
            let direction = p == 2 ? x : x.sign() * x.abs().pow(p - 1)
            return [direction * scale]
        }
    }

    /// The shape with `axes` removed.
    @usableFromInline
    func shapeDropping(_ axes: [Int]) -> [Int] {
        shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// A reshape of a contiguous tensor that records nothing (used inside reductions, whose rule
    /// already accounts for the shape).
    @usableFromInline
    func reshapedWithoutGrad(_ newShape: [Int]) -> Tensor {
        Tensor(storage: storage, shape: newShape, strides: Shape.contiguousStrides(newShape), offset: offset)
    }
}
