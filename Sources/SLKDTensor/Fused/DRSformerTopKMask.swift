// DRSformer's top-k attention mask (`DRSformer_arch.py`, `Attention.forward`): the 0/1 mask of the
// k largest scores per row, built from the top-k indices in one scatter.

extension Tensor {
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
}
