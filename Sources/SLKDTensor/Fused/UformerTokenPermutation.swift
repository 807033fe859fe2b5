// Uformer's shifted-window token order (`model.py`: `torch.roll` then `window_partition`, and
// `window_reverse` then `torch.roll` back) is one permutation of the H·W tokens and its inverse.
// As `selecting` the backward of each gather is a scatter-add (`index_add`) into a zeroed
// buffer; for a permutation it is the gather by the inverse, which is what this op records.

extension Tensor {
    /// `self.selecting(axis: 2, indices: permutation)` on tokens [B, C, L] when `permutation` is a
    /// permutation of 0..<L and `inverse` its inverse (int64 [L] each); the gradient is
    /// `g.selecting(axis: 2, indices: inverse)`.
    public func uformerPermutedTokens(_ permutation: Tensor, inverse: Tensor) -> Tensor {
        precondition(rank == 3 && permutation.shape == [shape[2]] && inverse.shape == [shape[2]]
                     && permutation.dtype == .int64 && inverse.dtype == .int64,
                     "uformerPermutedTokens needs tokens [B, C, L] and int64 [L] permutations, got \(shape), \(permutation.dtype)\(permutation.shape), \(inverse.dtype)\(inverse.shape)")
        let p = permutation.contiguous(), q = inverse.contiguous()
        let pp = p.basePointer(Int64.self), pq = q.basePointer(Int64.self)
        precondition((0..<shape[2]).allSatisfy { i in pp[i] >= 0 && pp[i] < Int64(shape[2]) && pq[Int(pp[i])] == Int64(i) },
                     "uformerPermutedTokens: the two index tensors are not a permutation and its inverse")
        let y = withExtendedLifetime((p, q)) { detached().selecting(axis: 2, indices: p) }
        return Autograd.record(y, inputs: [self]) { g in [g.selecting(axis: 2, indices: q)] }
    }
}
