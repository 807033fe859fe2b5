// The kernel behind padding, roll, flip and tiling: every output element reads one source
// element through a separate index map per axis, so out[o₀, …, oₖ] = x[m₀(o₀), …, mₖ(oₖ)].
// A negative map entry means "no source": the element takes a fill value (constant padding).
// The adjoint accumulates the gradient back through the same maps, one axis at a time.

/// A per-axis index map: entry `o` is the source index read by output index `o`, or −1 for the
/// fill value. `nil` stands for the identity map of the axis.
typealias AxisMaps = [[Int]?]

extension Tensor {
    /// `x[m₀(o₀), …]` for every output index, or `fill` where some map is −1 (no autograd).
    func remapped(_ maps: AxisMaps, fill: Double) -> Tensor {
        precondition(maps.count == rank, "remap needs one map per axis")
        func run<T: TensorElement>(_: T.Type) -> Tensor { remapKernel(maps, fill: T(fill)) }
        return dtype.withElementType { run($0) }
    }

    private func remapKernel<T>(_ maps: AxisMaps, fill: T) -> Tensor {
        for (a, map) in maps.enumerated() {
            guard let map else { continue }
            precondition(map.allSatisfy { $0 < shape[a] }, "remap: index out of range on axis \(a)")
        }
        if rank == 0 { return Tensor.make([], T.self, dtype: dtype) { $0[0] = basePointer(T.self)[0] } }
        let outShape = (0..<rank).map { maps[$0]?.count ?? shape[$0] }
        let last = rank - 1
        let width = outShape[last]
        let rows = width == 0 ? 0 : Shape.count(outShape) / width
        // Per outer axis, the element offset each output index contributes (−1: fill).
        var axisStart = [Int](), contributions = [Int]()
        for a in 0..<last {
            axisStart.append(contributions.count)
            for o in 0..<outShape[a] {
                let s = maps[a]?[o] ?? o
                contributions.append(s < 0 ? -1 : s * strides[a])
            }
        }
        // The last axis as segments (output start, source start or −1, length) of consecutive
        // source indices, so that untouched runs copy as blocks.
        var segments = [Int]()
        var o = 0
        while o < width {
            let s = maps[last]?[o] ?? o
            var length = 1
            while o + length < width {
                let t = maps[last]?[o + length] ?? (o + length)
                if s < 0 ? t >= 0 : t != s + length { break }
                length += 1
            }
            segments += [o, s, length]
            o += length
        }
        let outerShape = Array(outShape[0..<last])
        let lastStride = strides[last]
        let src = basePointer(T.self)
        return Tensor.make(outShape, T.self, dtype: dtype) { out in
            let dst = out.baseAddress!
            contributions.withUnsafeBufferPointer { contrib in
                segments.withUnsafeBufferPointer { seg in
                    axisStart.withUnsafeBufferPointer { starts in
                        Parallel.forChunks(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(width, 1))) { range in
                            withUnsafeTemporaryAllocation(of: Int.self, capacity: Swift.max(last, 1)) { counter in
                                // Position the counter at the chunk's first row.
                                var rest = range.lowerBound, offset = 0, missing = 0
                                for a in stride(from: last - 1, through: 0, by: -1) {
                                    counter[a] = rest % outerShape[a]
                                    rest /= outerShape[a]
                                    let c = contrib[starts[a] + counter[a]]
                                    if c < 0 { missing += 1 } else { offset += c }
                                }
                                for r in range {
                                    let d = dst + r * width
                                    if missing > 0 {
                                        d.update(repeating: fill, count: width)
                                    } else {
                                        let s = src + offset
                                        for k in stride(from: 0, to: seg.count, by: 3) {
                                            let os = seg[k], ss = seg[k + 1], n = seg[k + 2]
                                            if ss < 0 {
                                                (d + os).update(repeating: fill, count: n)
                                            } else if lastStride == 1 {
                                                (d + os).update(from: s + ss, count: n)
                                            } else {
                                                for i in 0..<n { d[os + i] = s[(ss + i) * lastStride] }
                                            }
                                        }
                                    }
                                    // Advance the counter by one row, keeping offset and missing in step.
                                    var a = last - 1
                                    while a >= 0 {
                                        let old = contrib[starts[a] + counter[a]]
                                        if old < 0 { missing -= 1 } else { offset -= old }
                                        counter[a] += 1
                                        if counter[a] == outerShape[a] { counter[a] = 0 }
                                        let new = contrib[starts[a] + counter[a]]
                                        if new < 0 { missing += 1 } else { offset += new }
                                        if counter[a] != 0 { break }
                                        a -= 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of ``remapped(_:fill:)``: each element of this gradient is added to the source
    /// element its output read (fill positions drop out), giving a tensor of `sourceShape`.
    func remapAdjoint(_ maps: AxisMaps, sourceShape: [Int]) -> Tensor {
        var current = detached()
        // One axis at a time: each pass folds one mapped axis back to its source length.
        for a in 0..<rank {
            guard let map = maps[a] else { continue }
            current = dtype.withFloatType("a gradient") { current.foldAxis(a, map: map, size: sourceShape[a], $0) }
        }
        return current
    }

    /// out[…, i, …] = Σ_{o : map[o] = i} self[…, o, …] along `axis`.
    private func foldAxis<T: TensorScalar>(_ axis: Int, map: [Int], size: Int, _: T.Type) -> Tensor {
        let x = isContiguous ? self : materialize()
        let outer = Shape.count(Array(shape[..<axis])), inner = Shape.count(Array(shape[(axis + 1)...]))
        let m = shape[axis]
        var outShape = shape
        outShape[axis] = size
        // Split the inner extent too when there are fewer outer slices than threads.
        let blocks = outer >= Parallel.threadCount ? 1 : Swift.max(1, Swift.min(Parallel.threadCount, inner / 4096))
        let src = x.basePointer(T.self)
        return Tensor.make(outShape, T.self) { out in
            let dst = out.baseAddress!
            out.initialize(repeating: 0)
            map.withUnsafeBufferPointer { map in
                let work = Swift.max(1, m * inner / blocks)
                Parallel.forChunks(outer * blocks, grain: Swift.max(1, elementwiseGrain / work)) { units in
                    for u in units {
                        let o = u / blocks, b = u % blocks
                        let lo = b * inner / blocks, hi = (b + 1) * inner / blocks
                        for k in 0..<m where map[k] >= 0 {
                            let d = dst + (o * size + map[k]) * inner, s = src + (o * m + k) * inner
                            for j in lo..<hi { d[j] += s[j] }
                        }
                    }
                }
            }
        }
    }
}
