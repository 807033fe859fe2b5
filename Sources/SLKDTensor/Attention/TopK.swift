// `torch.topk`: the k extreme entries along an axis, with gradients through the values.

extension Tensor {
    /// The `k` largest (or smallest) entries along `axis`, sorted, and their int64 indices, as
    /// `torch.topk(x, k, dim: axis)`. The values carry gradients (scattered back to the
    /// selected positions); the indices do not.
    public func topK(_ k: Int, axis: Int = -1, largest: Bool = true) -> (values: Tensor, indices: Tensor) {
        _ = Tensor.visionFloatType("topK", self)
        let a = Shape.axis(axis, rank: rank)
        precondition(k >= 0 && k <= shape[a], "topK: k = \(k) out of range for axis \(a) of size \(shape[a])")
        // Work on the axis moved last, then move it back.
        var order = Array(0..<rank)
        order.remove(at: a)
        order.append(a)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        let moved = permuted(order).contiguous()
        let n = shape[a], rows = count / Swift.max(n, 1)
        let indices = TopKKernels.select(moved, rows: rows, n: n, k: k, largest: largest)
        let values = TopKKernels.gather(moved.detached(), indices, rows: rows, n: n, k: k)
        let recorded = Autograd.record(values, inputs: [moved]) { g in
            [TopKKernels.scatter(g.contiguous(), indices, rows: rows, n: n, k: k)]
        }
        return (recorded.permuted(inverse), indices.permuted(inverse))
    }
}

enum TopKKernels {
    /// Per row of a contiguous [rows, n] tensor, the indices of the k extreme entries, sorted
    /// (ties: the lower index first). NaN counts as the largest, as in PyTorch.
    static func select(_ x: Tensor, rows: Int, n: Int, k: Int, largest: Bool) -> Tensor {
        let values = x.detached()
        var shape = x.shape
        shape[shape.count - 1] = k
        return Tensor.make(shape, Int64.self, dtype: .int64) { out in
            let po = out.baseAddress!
            func run<T: TensorScalar>(_: T.Type) {
                let px = UnsafePointer(values.basePointer(T.self))
                Parallel.forChunks(rows, grain: Swift.max(1, 4_096 / Swift.max(n, 1))) { range in
                    var order = [Int](repeating: 0, count: n)
                    for r in range {
                        let row = px + r * n
                        for i in 0..<n { order[i] = i }
                        func before(_ i: Int, _ j: Int) -> Bool {
                            let a = row[i], b = row[j]
                            if a.isNaN || b.isNaN { return a.isNaN && !b.isNaN ? largest : (b.isNaN && !a.isNaN ? !largest : i < j) }
                            if a != b { return largest ? a > b : a < b }
                            return i < j
                        }
                        // Insertion into a sorted list of the k best so far: O(n·k) worst case,
                        // O(n) for the usual random rows where few candidates beat the k-th.
                        guard k > 0 else { continue }
                        var best = Array(order[0..<k]).sorted(by: before)
                        for i in k..<n where before(i, best[k - 1]) {
                            var pos = k - 1
                            while pos > 0 && before(i, best[pos - 1]) { best[pos] = best[pos - 1]; pos -= 1 }
                            best[pos] = i
                        }
                        for j in 0..<k { po[r * k + j] = Int64(best[j]) }
                    }
                }
            }
            values.dtype.withFloatType { run($0) }
        }
    }

    /// out[r, j] = x[r, idx[r, j]].
    static func gather(_ x: Tensor, _ idx: Tensor, rows: Int, n: Int, k: Int) -> Tensor {
        let pi = UnsafePointer(idx.basePointer(Int64.self))
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let px = UnsafePointer(x.basePointer(T.self))
            return Tensor.make(idx.shape, T.self) { out in
                for r in 0..<rows { for j in 0..<k { out[r * k + j] = px[r * n + Int(pi[r * k + j])] } }
            }
        }
        return x.dtype.withFloatType { run($0) }
    }

    /// Zeros [rows, n] with out[r, idx[r, j]] += v[r, j].
    static func scatter(_ v: Tensor, _ idx: Tensor, rows: Int, n: Int, k: Int) -> Tensor {
        let pi = UnsafePointer(idx.basePointer(Int64.self))
        var shape = v.shape
        shape[shape.count - 1] = n
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pv = UnsafePointer(v.basePointer(T.self))
            return Tensor.make(shape, T.self) { out in
                out.update(repeating: 0)
                for r in 0..<rows { for j in 0..<k { out[r * n + Int(pi[r * k + j])] += pv[r * k + j] } }
            }
        }
        return v.dtype.withFloatType { run($0) }
    }
}
