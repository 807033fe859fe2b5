// Index plumbing of the three transformers' attention: top-k selection (DRSformer's sparse
// attention), window partition / reverse and the cyclic shift (Uformer's shifted windows), and
// the relative-position-bias lookup (Uformer's `relative_position_bias_table`).

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

    /// A 0/1 tensor of this shape and dtype with ones at the `k` largest entries along `axis`
    /// (no gradient): DRSformer's `mask.scatter_(-1, torch.topk(attn, k)[1], 1.)`.
    public func topKMask(_ k: Int, axis: Int = -1) -> Tensor {
        let (_, idx) = detached().topK(k, axis: axis)
        let a = Shape.axis(axis, rank: rank)
        var order = Array(0..<rank)
        order.remove(at: a)
        order.append(a)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        let n = shape[a], rows = count / Swift.max(n, 1)
        let movedIdx = idx.permuted(order).contiguous()
        let ones = Tensor.ones(movedIdx.shape, dtype: dtype)
        return TopKKernels.scatter(ones, movedIdx, rows: rows, n: n, k: k).permuted(inverse).contiguous()
    }

    /// Uformer's `window_partition`: [B, H, W, C] → [B·(H/ws)·(W/ws), ws, ws, C].
    public func windowPartition(_ ws: Int) -> Tensor {
        precondition(rank == 4 && shape[1] % ws == 0 && shape[2] % ws == 0,
                     "windowPartition(\(ws)) needs [B, H, W, C] with H, W divisible by \(ws), got \(shape)")
        let (b, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        return reshaped([b, h / ws, ws, w / ws, ws, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, ws, ws, c])
    }

    /// Uformer's `window_reverse`: [B·(H/ws)·(W/ws), ws, ws, C] → [B, H, W, C].
    public func windowReverse(_ ws: Int, height: Int, width: Int) -> Tensor {
        precondition(rank == 4 && shape[1] == ws && shape[2] == ws && height % ws == 0 && width % ws == 0
                     && shape[0] % ((height / ws) * (width / ws)) == 0,
                     "windowReverse(\(ws)) cannot rebuild \(height)×\(width) from \(shape)")
        let b = shape[0] / ((height / ws) * (width / ws)), c = shape[3]
        return reshaped([b, height / ws, width / ws, ws, ws, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([b, height, width, c])
    }

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

    /// Looks up a relative-position-bias table [(2W−1)², heads] with an int64 `index` [M, M]
    /// (M = W²): out[h, i, j] = table[index[i, j], h], shape [heads, M, M] — Uformer's
    /// `relative_position_bias_table[relative_position_index.view(-1)].view(M, M, -1).permute(2, 0, 1)`.
    public static func relativePositionBias(table: Tensor, index: Tensor) -> Tensor {
        _ = visionFloatType("relativePositionBias", table)
        precondition(table.rank == 2 && index.dtype == .int64 && index.rank == 2,
                     "relativePositionBias needs a [entries, heads] table and a 2-D int64 index, got \(table.shape), \(index.dtype)\(index.shape)")
        let t = table.contiguous()
        let idx = index.contiguous().integers
        precondition(idx.allSatisfy { $0 >= 0 && $0 < table.shape[0] }, "relativePositionBias: index out of range for \(table.shape[0]) table entries")
        let heads = table.shape[1], outShape = [heads, index.shape[0], index.shape[1]]
        let y = RelativeBiasKernel.gather(t, idx, heads: heads, outShape: outShape)
        let entries = table.shape[0]
        return Autograd.record(y, inputs: [t]) { g in [RelativeBiasKernel.scatter(g.contiguous(), idx, heads: heads, entries: entries)] }
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
            switch values.dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            case .int64: preconditionFailure()
            }
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
        switch x.dtype {
        case .float32: return run(Float.self)
        case .float64: return run(Double.self)
        case .int64: preconditionFailure()
        }
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
        switch v.dtype {
        case .float32: return run(Float.self)
        case .float64: return run(Double.self)
        case .int64: preconditionFailure()
        }
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
        switch x.dtype {
        case .float32: return run(Float.self)
        case .float64: return run(Double.self)
        case .int64: return run(Int64.self)
        }
    }
}

enum RelativeBiasKernel {
    static func gather(_ table: Tensor, _ idx: [Int], heads: Int, outShape: [Int]) -> Tensor {
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pt = UnsafePointer(table.basePointer(T.self))
            let m = idx.count
            return Tensor.make(outShape, T.self) { out in
                for h in 0..<heads { for i in 0..<m { out[h * m + i] = pt[idx[i] * heads + h] } }
            }
        }
        switch table.dtype {
        case .float32: return run(Float.self)
        case .float64: return run(Double.self)
        case .int64: preconditionFailure()
        }
    }

    /// The adjoint of the lookup: gradients of repeated indices add up.
    static func scatter(_ g: Tensor, _ idx: [Int], heads: Int, entries: Int) -> Tensor {
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pg = UnsafePointer(g.basePointer(T.self))
            let m = idx.count
            return Tensor.make([entries, heads], T.self) { out in
                out.update(repeating: 0)
                for h in 0..<heads { for i in 0..<m { out[idx[i] * heads + h] += pg[h * m + i] } }
            }
        }
        switch g.dtype {
        case .float32: return run(Float.self)
        case .float64: return run(Double.self)
        case .int64: preconditionFailure()
        }
    }
}
