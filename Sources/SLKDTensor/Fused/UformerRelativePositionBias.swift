// Uformer's relative-position-bias lookup (`model.py`, `WindowAttention.forward`): a learned
// table indexed by the relative offset of two tokens in a window, with its scatter-add adjoint.

extension Tensor {
    /// Looks up a relative-position-bias table [(2W−1)², heads] with an int64 `index` [M, M]
    /// (M = W²): out[h, i, j] = table[index[i, j], h], shape [heads, M, M] — Uformer's
    /// `relative_position_bias_table[relative_position_index.view(-1)].view(M, M, -1).permute(2, 0, 1)`.
    ///
    /// `index` may be any strided view (the models pass a transpose); it is read in place.
    public static func relativePositionBias(table: Tensor, index: Tensor) -> Tensor {
        _ = visionFloatType("relativePositionBias", table)
        precondition(table.rank == 2 && index.dtype == .int64 && index.rank == 2,
                     "relativePositionBias needs a [entries, heads] table and a 2-D int64 index, got \(table.shape), \(index.dtype)\(index.shape)")
        let t = table.contiguous()
        let (heads, entries) = (table.shape[1], table.shape[0])
        let outShape = [heads, index.shape[0], index.shape[1]]
        let y = RelativeBiasKernel.gather(t, index, heads: heads, outShape: outShape)
        return Autograd.record(y, inputs: [t]) { g in
            [RelativeBiasKernel.scatter(g.contiguous(), index.integers, heads: heads, entries: entries)]
        }
    }
}

enum RelativeBiasKernel {
    /// Why in two passes: this runs once per attention block on the main thread between two
    /// parallel regions (16 heads × 4 096 entries at Uformer's bottleneck). Converting the index
    /// to `[Int]`, checking it, and gathering head by head with a stride-`heads` read took 82 µs
    /// there, longer than the pool's idle spin, so the worker fell asleep before the attention.
    /// Here the index is read once through its strides into row offsets of the table (checked on
    /// the way), and each head is then a gather from a table that stays in L1.
    static func gather(_ table: Tensor, _ index: Tensor, heads: Int, outShape: [Int]) -> Tensor {
        let (rows, columns) = (index.shape[0], index.shape[1]), m = rows * columns
        let (rowStride, columnStride) = (index.strides[0], index.strides[1])
        let entries = table.shape[0]
        let pi = index.storage.typed(Int64.self) + index.offset
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pt = UnsafePointer(table.basePointer(T.self))
            return Tensor.make(outShape, T.self) { out in
                TensorMemoryCache.withScratch(Int.self, count: m) { offsets in
                    var inRange = true
                    for i in 0..<rows {
                        let source = pi + i * rowStride, row = offsets + i * columns
                        for j in 0..<columns {
                            let e = Int(source[j * columnStride])
                            inRange = inRange && e >= 0 && e < entries
                            row[j] = e &* heads
                        }
                    }
                    precondition(inRange, "relativePositionBias: index out of range for \(entries) table entries")
                    let po = out.baseAddress!
                    for h in 0..<heads {
                        let destination = po + h * m, column = pt + h
                        for i in 0..<m { destination[i] = column[offsets[i]] }
                    }
                }
            }
        }
        return table.dtype.withFloatType { run($0) }
    }

    /// The adjoint of the lookup: gradients of repeated indices add up.
    static func scatter(_ g: Tensor, _ idx: [Int], heads: Int, entries: Int) -> Tensor {
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pg = UnsafePointer(g.basePointer(T.self))
            let m = idx.count
            return Tensor.make([entries, heads], T.self) { out in
                out.update(repeating: 0)
                idx.withUnsafeBufferPointer { indices in
                    let po = out.baseAddress!, pi = indices.baseAddress!
                    for h in 0..<heads { for i in 0..<m { po[pi[i] * heads + h] += pg[h * m + i] } }
                }
            }
        }
        return g.dtype.withFloatType { run($0) }
    }
}
