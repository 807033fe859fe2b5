// Joining tensors along an axis and cutting one into pieces. Cutting returns views; joining
// copies each input once into its slab of the result.

extension Tensor {
    /// The tensors joined along `axis` (PyTorch `torch.cat`). All must share dtype, rank and
    /// every size except along `axis`. The gradient of each input is its slab of the output
    /// gradient (a view).
    public static func concatenated(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenated: no tensors")
        let first = tensors[0]
        let a = Shape.axis(axis, rank: first.rank)
        var outShape = first.shape
        outShape[a] = 0
        var starts: [Int] = []
        for t in tensors {
            precondition(t.dtype == first.dtype, "concatenated: dtypes differ (\(first.dtype) and \(t.dtype))")
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "concatenated: shape \(t.shape) does not match \(first.shape) outside axis \(a)")
            starts.append(outShape[a])
            outShape[a] += t.shape[a]
        }
        if tensors.count == 1 { return first }
        let y = first.dtype.withElementType { concatKernel(tensors, axis: a, starts: starts, outShape: outShape, $0) }
        let lengths = tensors.map { $0.shape[a] }
        return Autograd.record(y, inputs: tensors) { g in
            (0..<lengths.count).map { i in g.narrowed(axis: a, start: starts[i], length: lengths[i]) }
        }
    }

    private static func concatKernel<T>(_ tensors: [Tensor], axis: Int, starts: [Int], outShape: [Int],
                                        _: T.Type) -> Tensor {
        let outStrides = Shape.contiguousStrides(outShape)
        return Tensor.make(outShape, T.self, dtype: tensors[0].dtype) { out in
            for (t, start) in Swift.zip(tensors, starts) where t.count > 0 {
                t.copyElements(into: out.baseAddress! + start * outStrides[axis], strides: outStrides, T.self)
            }
        }
    }

    /// Writes this tensor's elements through `strides` from `destination`, in parallel for
    /// large tensors. Runs that are contiguous on both sides copy as blocks.
    @usableFromInline
    func copyElements<T>(into destination: UnsafeMutablePointer<T>, strides dstStrides: [Int], _: T.Type) {
        let loop = StridedLoop(shape: shape, strides: [dstStrides, strides])
        let source = basePointer(T.self)
        let ds = loop.innerStrides[0], ss = loop.innerStrides[1]
        // A channel slice of one image is a single run: it is cut into pieces so that every
        // thread copies (DRSformer's MSFN concatenations ran on one thread, 5 % of its forward).
        loop.forEachPieceInParallel(grain: elementwiseGrain) { offsets, piece in
            let start = piece.lowerBound
            let d = destination + offsets[0] + start * ds, s = source + offsets[1] + start * ss
            if ds == 1 && ss == 1 {
                d.update(from: s, count: piece.count)
            } else {
                for i in 0..<piece.count { d[i * ds] = s[i * ss] }
            }
        }
    }

    /// The tensors stacked along a new axis `axis` (PyTorch `torch.stack`); all must have one shape.
    public static func stacked(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stacked: no tensors")
        let rank = tensors[0].rank
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "stacked: axis \(axis) out of range for rank \(rank)")
        precondition(tensors.allSatisfy { $0.shape == tensors[0].shape },
                     "stacked: shapes differ: \(tensors.map(\.shape))")
        return concatenated(tensors.map { $0.unsqueezed(axis: a) }, axis: a)
    }

    /// Views of consecutive pieces of `sizes[i]` elements along `axis`; the sizes must add up to
    /// the axis length (PyTorch `torch.split` with a list of sizes).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = Shape.axis(axis, rank: rank)
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[a],
                     "split: sizes \(sizes) do not add up to \(shape[a]) along axis \(a)")
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return narrowed(axis: a, start: start, length: n)
        }
    }

    /// `count` views of near-equal size along `axis`, as PyTorch `torch.chunk`: each piece has
    /// ⌈n / count⌉ elements except a shorter last one, so fewer than `count` pieces may result.
    public func chunked(_ count: Int, axis: Int) -> [Tensor] {
        precondition(count > 0, "chunked: count must be positive, got \(count)")
        let a = Shape.axis(axis, rank: rank), n = shape[a]
        let size = (n + count - 1) / count
        if size == 0 { return [self] }
        let pieces = (n + size - 1) / size
        return split(sizes: (0..<pieces).map { Swift.min(size, n - $0 * size) }, axis: a)
    }
}
