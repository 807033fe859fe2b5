// A cyclic shift along axes (`torch.roll`) by block copies, the fast path for the whole-axis
// shifts of Uformer's shifted windows; ``Tensor/rolled(shifts:axes:)`` is the general index-map form.

extension Tensor {
    /// A cyclic shift along the given axes, as `torch.roll(x, shifts, dims)`:
    /// out[(i + shift) mod n] = x[i]. (Uformer's shifted windows use shifts (−s, −s) on H, W.)
    public func cyclicShifted(_ shifts: [Int], axes: [Int]) -> Tensor {
        precondition(shifts.count == axes.count, "cyclicShifted: \(shifts.count) shifts for \(axes.count) axes")
        var result = self
        for (s, axis) in Swift.zip(shifts, axes) { result = result.cyclicShifted(s, axis: axis) }
        return result
    }

    /// A cyclic shift along one axis.
    func cyclicShifted(_ shift: Int, axis: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let n = shape[a]
        guard n > 0, ((shift % n) + n) % n != 0 else { return self }
        let x = contiguous()
        let lanes = AxisLanes(shape: shape, axis: a)
        let y = RollKernel.roll(x, lanes, shift)
        return Autograd.record(y, inputs: [x]) { g in [RollKernel.roll(g.contiguous(), lanes, -shift)] }
    }
}

enum RollKernel {
    /// out[o, (i + shift) mod n, :] = x[o, i, :] on a contiguous tensor: two block copies per outer index.
    static func roll(_ x: Tensor, _ lanes: AxisLanes, _ shift: Int) -> Tensor {
        let n = lanes.size, inner = lanes.inner
        let s = ((shift % n) + n) % n
        func run<T>(_: T.Type) -> Tensor {
            let px = UnsafePointer(x.basePointer(T.self))
            return Tensor.make(x.shape, T.self, dtype: x.dtype) { out in
                let py = out.baseAddress!
                Parallel.forChunks(lanes.outer, grain: Swift.max(1, 32_768 / Swift.max(n * inner, 1))) { range in
                    for o in range {
                        let src = px + o * n * inner, dst = py + o * n * inner
                        (dst + s * inner).update(from: src, count: (n - s) * inner)
                        dst.update(from: src + (n - s) * inner, count: s * inner)
                    }
                }
            }
        }
        return x.dtype.withElementType { run($0) }
    }
}
