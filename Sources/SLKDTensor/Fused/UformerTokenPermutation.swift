// Uformer's shifted-window token order (`model.py`: `torch.roll` then `window_partition`, and
// `window_reverse` then `torch.roll` back) is one permutation of the H·W tokens and its inverse.
// As `selecting` the backward of each gather is a scatter-add (`index_add`) into a zeroed
// buffer; for a permutation it is the gather by the inverse, which is what this op records.

extension Tensor {
    /// `self.selecting(axis: 2, indices: permutation)` on tokens [B, C, L] when `permutation` is a
    /// permutation of 0..<L and `inverse` its inverse (int64 [L] each); the gradient is
    /// `g.selecting(axis: 2, indices: inverse)`.
    public func uformerPermutedTokens(_ permutation: Tensor, inverse: Tensor) -> Tensor {
        let (p, q) = checkedTokenPermutation(permutation, inverse: inverse, op: "uformerPermutedTokens")
        let y = withExtendedLifetime((p, q)) { detached().selecting(axis: 2, indices: p) }
        return Autograd.record(y, inputs: [self]) { g in [g.selecting(axis: 2, indices: q)] }
    }

    /// `self.uformerPermutedTokens(permutation, inverse:) + periodic` with `periodic` [C, P]
    /// added to token t at t mod P, in one pass: Uformer's window partition followed by the
    /// decoder's modulator (`with_pos_embed(x_windows, modulator.weight)`, the weight [P, C]
    /// transposed), which the unfused graph reads and writes again as a broadcast add.
    ///
    /// - Parameters:
    ///   - permutation: int64 [L], a permutation of 0..<L.
    ///   - inverse: int64 [L], the inverse of `permutation`.
    ///   - periodic: [C, P] with P dividing L, of this tensor's dtype. Receives the gradient
    ///     summed over images and periods.
    public func uformerPermutedTokens(_ permutation: Tensor, inverse: Tensor, adding periodic: Tensor) -> Tensor {
        let (p, q) = checkedTokenPermutation(permutation, inverse: inverse, op: "uformerPermutedTokens(adding:)")
        let (b, c, l) = (shape[0], shape[1], shape[2])
        precondition(periodic.rank == 2 && periodic.shape[0] == c && periodic.shape[1] > 0 && l % periodic.shape[1] == 0
                     && periodic.dtype == dtype,
                     "uformerPermutedTokens(adding:) needs periodic [\(c), P] with P dividing \(l) in \(dtype), got \(periodic.dtype)\(periodic.shape)")
        let period = periodic.shape[1]
        let y = dtype.withFloatType("uformerPermutedTokens(adding:)") {
            Self.permutedTokensKernel($0, contiguous().detached(), p, base: nil, periodic: periodic.contiguous().detached())
        }
        return Autograd.record(y, inputs: [self, periodic]) { g in
            [g.selecting(axis: 2, indices: q), g.reshaped([b, c, l / period, period]).sum(axes: [0, 2])]
        }
    }

    /// `self + tokens.uformerPermutedTokens(permutation, inverse:)` in one pass: Uformer's
    /// window reverse and roll back followed by the block's residual connection (`x = shortcut +
    /// x`), which the unfused graph reads and writes again as an add.
    ///
    /// - Parameters:
    ///   - tokens: [B, C, L] of this tensor's shape and dtype, permuted before the sum.
    ///   - permutation: int64 [L], a permutation of 0..<L.
    ///   - inverse: int64 [L], the inverse of `permutation`.
    public func addingUformerPermutedTokens(_ tokens: Tensor, permutation: Tensor, inverse: Tensor) -> Tensor {
        let (p, q) = tokens.checkedTokenPermutation(permutation, inverse: inverse, op: "addingUformerPermutedTokens")
        precondition(shape == tokens.shape && dtype == tokens.dtype,
                     "addingUformerPermutedTokens needs two [B, C, L] tensors of one dtype, got \(dtype)\(shape) and \(tokens.dtype)\(tokens.shape)")
        let y = dtype.withFloatType("addingUformerPermutedTokens") {
            Self.permutedTokensKernel($0, tokens.contiguous().detached(), p, base: contiguous().detached(), periodic: nil)
        }
        return Autograd.record(y, inputs: [self, tokens]) { g in [g, g.selecting(axis: 2, indices: q)] }
    }

    /// The two index tensors, contiguous, after checking that they are a permutation of this
    /// [B, C, L] tensor's tokens and its inverse.
    private func checkedTokenPermutation(_ permutation: Tensor, inverse: Tensor, op: String) -> (Tensor, Tensor) {
        precondition(rank == 3 && permutation.shape == [shape[2]] && inverse.shape == [shape[2]]
                     && permutation.dtype == .int64 && inverse.dtype == .int64,
                     "\(op) needs tokens [B, C, L] and int64 [L] permutations, got \(shape), \(permutation.dtype)\(permutation.shape), \(inverse.dtype)\(inverse.shape)")
        let p = permutation.contiguous(), q = inverse.contiguous()
        let pp = p.basePointer(Int64.self), pq = q.basePointer(Int64.self)
        precondition((0..<shape[2]).allSatisfy { i in pp[i] >= 0 && pp[i] < Int64(shape[2]) && pq[Int(pp[i])] == Int64(i) },
                     "\(op): the two index tensors are not a permutation and its inverse")
        return (p, q)
    }

    /// out[b, c, t] = base[b, c, t] + source[b, c, permutation[t]], or without a base
    /// source[b, c, permutation[t]] + periodic[c, t mod P]: each sum in the unfused graph's order.
    private static func permutedTokensKernel<T: TensorScalar>(_: T.Type, _ source: Tensor, _ permutation: Tensor,
                                                              base: Tensor?, periodic: Tensor?) -> Tensor {
        let (c, l) = (source.shape[1], source.shape[2]), rows = source.shape[0] * c
        let period = periodic?.shape[1] ?? l
        let src = UncheckedSendable(UnsafePointer(source.basePointer(T.self)))
        let idx = UncheckedSendable(UnsafePointer(permutation.basePointer(Int64.self)))
        let pb = base.map { UncheckedSendable(UnsafePointer($0.basePointer(T.self))) }
        let pp = periodic.map { UncheckedSendable(UnsafePointer($0.basePointer(T.self))) }
        let y = Tensor.make(source.shape, T.self) { out in
            let dst = UncheckedSendable(out.baseAddress!)
            Parallel.forChunks(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(l, 1))) { range in
                for r in range {
                    let s = src.value + r * l, d = dst.value + r * l
                    if let pb {
                        let x = pb.value + r * l
                        for t in 0..<l { d[t] = x[t] + s[Int(idx.value[t])] }
                    } else if let pp {
                        let add = pp.value + (r % c) * period
                        for start in stride(from: 0, to: l, by: period) {
                            for j in 0..<period { d[start + j] = s[Int(idx.value[start + j])] + add[j] }
                        }
                    }
                }
            }
        }
        return withExtendedLifetime((source, permutation, base, periodic)) { y }
    }
}
