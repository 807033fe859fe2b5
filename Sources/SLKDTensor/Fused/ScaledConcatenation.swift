// Uformer's q and kv projections as one (`model.py`, `LinearProjection`: `to_q` and `to_kv`; the
// attention scale multiplies q after it): SLKD runs them as one GEMM with the scale folded into q's
// weight rows and bias, which needs `concatenated([wq * scale, wkv], axis: 0)` every forward. As
// three ops that was three parallel regions (the product, and one copy per input) and a pass more
// over q's weight; a Uformer-B forward made it 80 times, over 46 MB of weights.

extension Tensor {
    /// `concatenated([first * scale, second], axis: 0)` in one pass, with the same values and
    /// gradients bit for bit: `first`'s rows scaled, then `second`'s rows.
    ///
    /// - Parameters:
    ///   - first: [n₁, …], multiplied by `scale`.
    ///   - scale: the factor of `first`'s rows, rounded to the dtype as `first * scale` rounds it.
    ///   - second: [n₂, …], the same dtype and trailing shape.
    /// - Returns: [n₁ + n₂, …], with gradients `g[..<n₁] * scale` for `first` and `g[n₁...]` for
    ///   `second`.
    public static func concatenated(_ first: Tensor, scaledBy scale: Double, _ second: Tensor) -> Tensor {
        precondition(first.rank >= 1 && second.rank == first.rank && first.shape.dropFirst() == second.shape.dropFirst()
                     && first.dtype == second.dtype,
                     "concatenated(_:scaledBy:_:) needs two tensors of one dtype and one shape past axis 0, got \(first.dtype)\(first.shape) and \(second.dtype)\(second.shape)")
        let a = first.contiguous(), b = second.contiguous()
        let rows = (first.shape[0], second.shape[0])
        let outShape = [rows.0 + rows.1] + Array(first.shape.dropFirst())
        let y = first.dtype.withFloatType("concatenated(_:scaledBy:_:)") {
            scaledConcatenationKernel(a, b, scale: scale, outShape: outShape, $0)
        }
        return Autograd.record(y, inputs: [first, second]) { g in
            [g.narrowed(axis: 0, start: 0, length: rows.0) * scale, g.narrowed(axis: 0, start: rows.0, length: rows.1)]
        }
    }

    private static func scaledConcatenationKernel<T: TensorScalar>(_ a: Tensor, _ b: Tensor, scale: Double,
                                                                   outShape: [Int], _: T.Type) -> Tensor {
        let scale = T(scale)   // as `Tensor(scalar:dtype:)` rounds it
        let (pa, pb) = (UncheckedSendable(UnsafePointer(a.basePointer(T.self))), UncheckedSendable(UnsafePointer(b.basePointer(T.self))))
        let split = a.count
        return Tensor.make(outShape, T.self) { out in
            let po = UncheckedSendable(out.baseAddress!)
            Parallel.forChunks(out.count, grain: elementwiseGrain) { range in
                let scaled = range.clamped(to: 0..<split), copied = range.clamped(to: split..<Swift.max(split, range.upperBound))
                for i in scaled { po.value[i] = pa.value[i] * scale }
                if !copied.isEmpty {
                    (po.value + copied.lowerBound).update(from: pb.value + (copied.lowerBound - split), count: copied.count)
                }
            }
        }
    }
}
