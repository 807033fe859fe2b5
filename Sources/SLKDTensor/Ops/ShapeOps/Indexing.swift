// Reading and writing elements at positions given by an int64 index tensor: gather, scatter,
// scatter-add and index-select, with PyTorch's semantics.
//
// The kernels walk "fibres": the index's shape with the indexed axis removed. Each fibre touches
// one line of the destination along that axis, so fibres never write the same element and
// threads can take them in parallel even when indices repeat.

extension Tensor {
    /// `out[i][j][k] = self[index[i][j][k]][j][k]` for `axis` 0, and likewise for other axes
    /// (PyTorch `torch.gather`). `index` is `int64` of this tensor's rank, with
    /// `index.shape[d] ≤ shape[d]` for `d ≠ axis` and entries in `0..<shape[axis]`; the result
    /// has `index`'s shape. The gradient scatters-adds back, so repeated indices accumulate.
    public func gathering(axis: Int, index: Tensor) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        checkIndex(index, axis: a, op: "gathering", against: self)
        let idx = index.isContiguous ? index : index.materialize()
        let y = dtype.withElementType { Tensor.gatherKernel(self, axis: a, index: idx, $0) }
        let sourceShape = shape
        return Autograd.record(y, inputs: [self]) { g in
            [Tensor.zeros(sourceShape, dtype: g.dtype).scatterKernel(axis: a, index: idx, source: g, accumulate: true)]
        }
    }

    /// A copy with `source` elements written at `index` along `axis`:
    /// `out[index[i][j][k]][j][k] = source[i][j][k]` for `axis` 0 (PyTorch `Tensor.scatter`).
    /// Only the leading `index.shape` block of `source` is used. With repeated indices the last
    /// write along the axis wins (PyTorch leaves it unspecified). Gradients: `source` gathers
    /// the output gradient; `self` gets it except at overwritten positions, which get zero.
    public func scattering(axis: Int, index: Tensor, source: Tensor) -> Tensor {
        scatterOp(axis: axis, index: index, source: source, accumulate: false)
    }

    /// A copy with `source` elements added at `index` along `axis`:
    /// `out[index[i][j][k]][j][k] += source[i][j][k]` for `axis` 0 (PyTorch `Tensor.scatter_add`);
    /// repeated indices accumulate. Gradients: `self` gets the output gradient, `source` gathers it.
    public func scatteringAdd(axis: Int, index: Tensor, source: Tensor) -> Tensor {
        scatterOp(axis: axis, index: index, source: source, accumulate: true)
    }

    private func scatterOp(axis: Int, index: Tensor, source: Tensor, accumulate: Bool) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        precondition(source.dtype == dtype, "scatter: source dtype \(source.dtype) differs from \(dtype)")
        precondition(source.rank == rank && (0..<rank).allSatisfy { index.shape[$0] <= source.shape[$0] },
                     "scatter: index shape \(index.shape) exceeds source shape \(source.shape)")
        checkIndex(index, axis: a, op: "scatter", against: self)
        precondition(!accumulate || dtype.isFloatingPoint, "scatteringAdd needs a floating-point tensor")
        // Only the index-shaped block of the source takes part; narrowing keeps its gradient exact.
        var src = source
        for d in 0..<rank where src.shape[d] != index.shape[d] {
            src = src.narrowed(axis: d, start: 0, length: index.shape[d])
        }
        let idx = index.isContiguous ? index : index.materialize()
        let y = scatterKernel(axis: a, index: idx, source: src, accumulate: accumulate)
        return Autograd.record(y, inputs: [self, src]) { g in
            let dSource = g.gathering(axis: a, index: idx)
            if accumulate { return [g, dSource] }
            return [g.scatterKernel(axis: a, index: idx, source: Tensor.zeros(idx.shape, dtype: g.dtype), accumulate: false),
                    dSource]
        }
    }

    /// `self` with the elements of `indices` (1-D `int64`, entries in `0..<shape[axis]`, repeats
    /// allowed) picked along `axis` (PyTorch `torch.index_select`). The gradient adds back.
    public func selecting(axis: Int, indices: Tensor) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        precondition(indices.dtype == .int64 && indices.rank == 1, "selecting: indices must be a 1-D int64 tensor, got \(indices.dtype) \(indices.shape)")
        let idx = indices.isContiguous ? indices : indices.materialize()
        let n = shape[a]
        let p = idx.basePointer(Int64.self)
        for k in 0..<idx.count {
            precondition(p[k] >= 0 && p[k] < Int64(n), "selecting: index \(p[k]) out of range for axis \(a) of size \(n)")
        }
        let y = dtype.withElementType { Tensor.selectKernel(self, axis: a, indices: idx, $0) }
        let sourceShape = shape
        return Autograd.record(y, inputs: [self]) { g in
            g.dtype.withFloatType { [Tensor.indexAddKernel(g, axis: a, indices: idx, sourceShape: sourceShape, $0)] }
        }
    }

    /// Checks an index tensor for gather/scatter against `target`: rank, sizes and value range.
    private func checkIndex(_ index: Tensor, axis a: Int, op: String, against target: Tensor) {
        precondition(index.dtype == .int64, "\(op): index must be int64, got \(index.dtype)")
        precondition(index.rank == target.rank && (0..<rank).allSatisfy { $0 == a || index.shape[$0] <= target.shape[$0] },
                     "\(op): index shape \(index.shape) does not fit \(target.shape) outside axis \(a)")
        let n = Int64(target.shape[a])
        let valid = index.withContiguousScalars(Int64.self) { values in values.allSatisfy { $0 >= 0 && $0 < n } }
        precondition(valid, "\(op): an index is out of range for axis \(a) of size \(n)")
    }

    /// A fibre loop over `shape` without `axis`, with one operand per strides array.
    private static func fibres(_ shape: [Int], axis: Int, _ strides: [[Int]]) -> StridedLoop {
        var s = shape
        s.remove(at: axis)
        return StridedLoop(shape: s, strides: strides.map { var t = $0; t.remove(at: axis); return t })
    }

    private static func gatherKernel<T>(_ x: Tensor, axis a: Int, index: Tensor, _: T.Type) -> Tensor {
        let outStrides = Shape.contiguousStrides(index.shape)
        let loop = fibres(index.shape, axis: a, [outStrides, x.strides])
        let k = index.shape[a], along = outStrides[a], xAlong = x.strides[a]
        let src = x.basePointer(T.self), idx = index.basePointer(Int64.self)
        return Tensor.make(index.shape, T.self, dtype: x.dtype) { out in
            let dst = out.baseAddress!
            let n = loop.inner, ds = loop.innerStrides[0], ss = loop.innerStrides[1]
            Parallel.forChunks(loop.outerCount, grain: Swift.max(1, elementwiseGrain / Swift.max(n * k, 1))) { runs in
                loop.forEachRun(in: runs) { offsets in
                    for j in 0..<k {
                        // Output and index share one contiguous layout, hence one offset.
                        let o = offsets[0] + j * along
                        let d = dst + o, ix = idx + o, s = src + offsets[1]
                        for i in 0..<n { d[i * ds] = s[Int(ix[i * ds]) * xAlong + i * ss] }
                    }
                }
            }
        }
    }

    /// A contiguous copy of this tensor with `source` written (or added) at `index` along `axis`.
    func scatterKernel(axis a: Int, index: Tensor, source: Tensor, accumulate: Bool) -> Tensor {
        func add<T: TensorScalar>(_: T.Type) -> Tensor { scatterKernel(a, index, source, T.self) { $0 += $1 } }
        func write<T>(_: T.Type) -> Tensor { scatterKernel(a, index, source, T.self) { $0 = $1 } }
        // Indices (int64) are only ever written, never added.
        if accumulate && dtype.isFloatingPoint { return dtype.withFloatType { add($0) } }
        return dtype.withElementType { write($0) }
    }

    private func scatterKernel<T>(_ a: Int, _ index: Tensor, _ source: Tensor, _: T.Type,
                                  _ write: (inout T, T) -> Void) -> Tensor {
        let result = materializeCopy()
        let dstStrides = result.strides, idxStrides = Shape.contiguousStrides(index.shape)
        let srcStrides = source.broadcastStrides(to: index.shape)
        let loop = Tensor.fibres(index.shape, axis: a, [dstStrides, idxStrides, srcStrides])
        let k = index.shape[a], dAlong = dstStrides[a], iAlong = idxStrides[a], sAlong = srcStrides[a]
        let dst = result.basePointer(T.self), idx = index.basePointer(Int64.self), src = source.basePointer(T.self)
        let n = loop.inner, ds = loop.innerStrides[0], xs = loop.innerStrides[1], ss = loop.innerStrides[2]
        // Fibres own disjoint lines of the destination, so they may run in parallel.
        Parallel.forChunks(loop.outerCount, grain: Swift.max(1, elementwiseGrain / Swift.max(n * k, 1))) { runs in
            loop.forEachRun(in: runs) { offsets in
                let d = dst + offsets[0]
                for j in 0..<k {
                    let ix = idx + offsets[1] + j * iAlong, s = src + offsets[2] + j * sAlong
                    for i in 0..<n { write(&d[Int(ix[i * xs]) * dAlong + i * ds], s[i * ss]) }
                }
            }
        }
        return result
    }

    private static func selectKernel<T>(_ x: Tensor, axis a: Int, indices: Tensor, _: T.Type) -> Tensor {
        var outShape = x.shape
        outShape[a] = indices.count
        if a == x.rank - 1 && x.isContiguous { return selectLastAxisKernel(x, indices: indices, outShape, T.self) }
        let outStrides = Shape.contiguousStrides(outShape)
        let loop = fibres(x.shape, axis: a, [outStrides, x.strides])
        let k = indices.count, along = outStrides[a], xAlong = x.strides[a]
        let src = x.basePointer(T.self), idx = indices.basePointer(Int64.self)
        return Tensor.make(outShape, T.self, dtype: x.dtype) { out in
            let dst = out.baseAddress!
            let n = loop.inner, ds = loop.innerStrides[0], ss = loop.innerStrides[1]
            func copy(_ offsets: UnsafeMutablePointer<Int>, _ picks: Range<Int>) {
                for j in picks {
                    let d = dst + offsets[0] + j * along, s = src + offsets[1] + Int(idx[j]) * xAlong
                    if ds == 1 && ss == 1 { d.update(from: s, count: n) } else { for i in 0..<n { d[i * ds] = s[i * ss] } }
                }
            }
            // Many fibres (selecting columns): split fibres; few long ones (embedding rows): split picks.
            if loop.outerCount >= Parallel.threadCount {
                Parallel.forChunks(loop.outerCount, grain: Swift.max(1, elementwiseGrain / Swift.max(n * k, 1))) { runs in
                    loop.forEachRun(in: runs) { copy($0, 0..<k) }
                }
            } else {
                Parallel.forChunks(k, grain: Swift.max(1, elementwiseGrain / Swift.max(n * loop.outerCount, 1))) { picks in
                    loop.forEachRun(in: 0..<loop.outerCount) { copy($0, picks) }
                }
            }
        }
    }

    /// `selectKernel` along the last axis of a contiguous tensor: each output row gathers from
    /// one input row. Why a path of its own: the general loop copies one pick at a time across
    /// all rows, a column read with the row length as stride, which missed the cache on every
    /// element for Uformer's window permutations ([B, C, H·W] tokens; 11 % of a Ufor-SL forward).
    private static func selectLastAxisKernel<T>(_ x: Tensor, indices: Tensor, _ outShape: [Int], _: T.Type) -> Tensor {
        let length = x.shape[x.rank - 1], k = indices.count, rows = k == 0 ? 0 : outShape.reduce(1, *) / k
        let src = x.basePointer(T.self), idx = indices.basePointer(Int64.self)
        return Tensor.make(outShape, T.self, dtype: x.dtype) { out in
            let dst = out.baseAddress!
            Parallel.forChunks(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(k, 1))) { range in
                for r in range {
                    let s = src + r * length, d = dst + r * k
                    for j in 0..<k { d[j] = s[Int(idx[j])] }
                }
            }
        }
    }

    /// Zeros of `sourceShape` with the slices of `g` added at `indices` along `axis`.
    private static func indexAddKernel<T: TensorScalar>(_ g: Tensor, axis a: Int, indices: Tensor,
                                                        sourceShape: [Int], _: T.Type) -> Tensor {
        let outStrides = Shape.contiguousStrides(sourceShape)
        let loop = fibres(g.shape, axis: a, [outStrides, g.strides])
        let k = indices.count, along = outStrides[a], gAlong = g.strides[a]
        let src = g.basePointer(T.self), idx = indices.basePointer(Int64.self)
        return Tensor.make(sourceShape, T.self) { out in
            let dst = out.baseAddress!
            out.initialize(repeating: 0)
            let n = loop.inner, ds = loop.innerStrides[0], ss = loop.innerStrides[1]
            // Split fibres only: repeated indices make different picks write the same slice.
            Parallel.forChunks(loop.outerCount, grain: Swift.max(1, elementwiseGrain / Swift.max(n * k, 1))) { runs in
                loop.forEachRun(in: runs) { offsets in
                    for j in 0..<k {
                        let d = dst + offsets[0] + Int(idx[j]) * along, s = src + offsets[1] + j * gAlong
                        for i in 0..<n { d[i * ds] += s[i * ss] }
                    }
                }
            }
        }
    }
}
