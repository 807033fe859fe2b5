// Uformer's relative-position-bias lookup (`model.py`, `WindowAttention.forward`): a learned
// table indexed by the relative offset of two tokens in a window, with its scatter-add adjoint.

extension Tensor {
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

enum RelativeBiasKernel {
    static func gather(_ table: Tensor, _ idx: [Int], heads: Int, outShape: [Int]) -> Tensor {
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pt = UnsafePointer(table.basePointer(T.self))
            let m = idx.count
            return Tensor.make(outShape, T.self) { out in
                idx.withUnsafeBufferPointer { indices in
                    let po = out.baseAddress!, pi = indices.baseAddress!
                    for h in 0..<heads { for i in 0..<m { po[h * m + i] = pt[pi[i] * heads + h] } }
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
