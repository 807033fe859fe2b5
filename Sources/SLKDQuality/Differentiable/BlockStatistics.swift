import Foundation

extension FeatureOps {
    /// The pixel sets of PIQE's per-block statistics for a b×b block, as offsets y·W + x into a
    /// plane of width W: the whole block, the 4(b − 5) six-pixel edge segments (top row, right
    /// column, bottom row, left column; each from its start), the centre columns b/2 − 1, b/2
    /// and the surround (all columns but b/2 − 1 and b/2 + 1, piqe.m's deletion order), 0-based.
    static func blockPixelSets(blockSize b: Int, width w: Int) -> [[Int]] {
        var sets = [(0..<b).flatMap { y in (0..<b).map { y * w + $0 } }]
        for edge in 0..<4 {
            for j in 0...(b - 6) {
                sets.append((j..<(j + 6)).map { t in
                    switch edge {
                    case 0: t                  // top row
                    case 1: t * w + b - 1      // right column
                    case 2: (b - 1) * w + t    // bottom row
                    default: t * w             // left column
                    }
                })
            }
        }
        let centre = [b / 2 - 1, b / 2], surround = (0..<b).filter { $0 != b / 2 - 1 && $0 != b / 2 + 1 }
        for columns in [centre, surround] {
            sets.append((0..<b).flatMap { y in columns.map { y * w + $0 } })
        }
        return sets
    }

    /// PIQE's block statistics of every H×W plane (H, W multiples of `blockSize` b), one op:
    /// …×(H/b)×(W/b)×K with K = 4(b − 5) + 3, per block in raster order
    /// [v, s₁ … s_{4(b−5)}, σ_centre, σ_surround]: v the unbiased variance of the block, the others
    /// sqrt(unbiased variance + ε) of the pixel sets of the edge segments, centre and surround.
    /// Float64 sums: per-column sums shifted by the block mean for the block, centre and surround,
    /// two passes for the segments. Backward: ∂var/∂x_i = 2(x_i − mean)/(n − 1), and
    /// ∂σ/∂var = 1/(2σ) (0 where σ = 0, only with ε = 0).
    public static func blockStatistics(_ m: Tensor, blockSize b: Int, epsilon: Double) -> Tensor {
        precondition(m.rank >= 2, "block statistics need …×H×W, got \(m.shape)")
        let h = m.shape[m.rank - 2], w = m.shape[m.rank - 1]
        precondition(b >= 6 && h % b == 0 && w % b == 0, "planes of \(h)×\(w) are not made of \(b)×\(b) blocks")
        return m.dtype.withFloatType("block statistics") { blockStatistics(m, blockSize: b, epsilon: epsilon, as: $0) }
    }

    static func blockStatistics<T: TensorScalar>(_ m: Tensor, blockSize b: Int, epsilon: Double, as _: T.Type) -> Tensor {
        let h = m.shape[m.rank - 2], w = m.shape[m.rank - 1], n = h * w
        let planes = m.count / Swift.max(n, 1)
        let (bh, bw) = (h / b, w / b)
        let sets = blockPixelSets(blockSize: b, width: w)
        let k = sets.count, blocks = planes * bh * bw
        // The sets flattened: set s is offsets[bounds[s]..<bounds[s + 1]] (no array per set in the loops).
        let offsets = sets.flatMap { $0 }, bounds = sets.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        // The whole block, the centre and the surround as column sets (same columns as `sets`).
        let columnSets: [(Int, [Int])] = [(0, Array(0..<b)), (k - 2, [b / 2 - 1, b / 2]),
                                          (k - 1, (0..<b).filter { $0 != b / 2 - 1 && $0 != b / 2 + 1 })]
        let input = m.detached()
        let os = UnsafeMutableBufferPointer<Int>.allocate(capacity: offsets.count)
        let bs = UnsafeMutableBufferPointer<Int>.allocate(capacity: bounds.count)
        _ = os.initialize(from: offsets)
        _ = bs.initialize(from: bounds)
        defer { os.deallocate(); bs.deallocate() }
        // Per block and set: the value and the mean (kept for the backward pass).
        var values = [Double](repeating: 0, count: blocks * k), means = [Double](repeating: 0, count: blocks * k)
        input.withContiguousScalars(T.self) { src in
            values.withUnsafeMutableBufferPointer { values in
                means.withUnsafeMutableBufferPointer { means in
                    let sp = UncheckedSendable(src.baseAddress!), vp = UncheckedSendable(values.baseAddress!)
                    let mp = UncheckedSendable(means.baseAddress!)
                    Parallel.forChunks(blocks, grain: 16) { range in
                        // Per-column sums of x and of (x − M)², (x − M) with M the block mean:
                        // the whole block, the centre and the surround are unions of columns, so
                        // their sums add column sums (vectorised across columns) instead of
                        // running one long dependent chain per set.
                        let columns = UnsafeMutablePointer<Double>.allocate(capacity: 3 * b)
                        defer { columns.deallocate() }
                        let sum = columns, dev = columns + b, dev2 = columns + 2 * b
                        for block in range {
                            let base = blockOrigin(block, bh: bh, bw: bw, b: b, width: w, plane: n)
                            let x = sp.value + base
                            for c in 0..<b { sum[c] = 0; dev[c] = 0; dev2[c] = 0 }
                            for y in 0..<b {
                                let row = x + y * w
                                for c in 0..<b { sum[c] += Double(row[c]) }
                            }
                            var total = 0.0
                            for c in 0..<b { total += sum[c] }
                            let blockMean = total / Double(b * b)
                            for y in 0..<b {
                                let row = x + y * w
                                for c in 0..<b {
                                    let d = Double(row[c]) - blockMean
                                    dev[c] += d
                                    dev2[c] += d * d
                                }
                            }
                            for (s, set) in columnSets {
                                var d1 = 0.0, d2 = 0.0
                                for c in set { d1 += dev[c]; d2 += dev2[c] }
                                let count = Double(set.count * b)
                                let variance = Swift.max(0, d2 - d1 * d1 / count) / (count - 1)
                                vp.value[block * k + s] = s == 0 ? variance : (variance + epsilon).squareRoot()
                                mp.value[block * k + s] = blockMean + d1 / count
                            }
                            // The six-pixel edge segments: short two-pass sums.
                            for s in 1..<(k - 2) {
                                let set = UnsafeBufferPointer(rebasing: os[bs[s]..<bs[s + 1]])
                                var sum = 0.0
                                for o in set { sum += Double(x[o]) }
                                let mean = sum / Double(set.count)
                                var ss = 0.0
                                for o in set {
                                    let d = Double(x[o]) - mean
                                    ss += d * d
                                }
                                let variance = ss / Double(set.count - 1)
                                vp.value[block * k + s] = (variance + epsilon).squareRoot()
                                mp.value[block * k + s] = mean
                            }
                        }
                    }
                }
            }
        }
        var valueT = Tensor(shape: Array(m.shape.dropLast(2)) + [bh, bw, k], scalars: values)
        if m.dtype != .float64 { valueT = valueT.cast(to: m.dtype) }
        let savedValues = values, savedMeans = means
        return Tensor.differentiable(value: valueT, inputs: [m], name: "blockStatistics") { g in
            [blockStatisticsBackward(g.doubles, input: input, blockSize: b, offsets: offsets, bounds: bounds,
                                     values: savedValues, means: savedMeans, as: T.self)]
        }
    }

    /// ∂L/∂m from the gradients `g` of the statistics: each set adds 2·g_var·(x − mean)/(n − 1).
    static func blockStatisticsBackward<T: TensorScalar>(_ g: [Double], input: Tensor, blockSize b: Int, offsets: [Int],
                                                         bounds: [Int], values: [Double], means: [Double],
                                                         as _: T.Type) -> Tensor {
        let h = input.shape[input.rank - 2], w = input.shape[input.rank - 1], n = h * w
        let (bh, bw) = (h / b, w / b), k = bounds.count - 1
        let blocks = input.count / Swift.max(n, 1) * bh * bw
        let (out, dst) = Tensor.uninitialized(input.shape, T.self)
        let dp = UncheckedSendable(dst.baseAddress!)
        input.withContiguousScalars(T.self) { src in
            let sp = UncheckedSendable(src.baseAddress!)
            g.withUnsafeBufferPointer { gp in
                offsets.withUnsafeBufferPointer { os in
                    bounds.withUnsafeBufferPointer { bs in
                        values.withUnsafeBufferPointer { vs in
                            means.withUnsafeBufferPointer { ms in
                                // Blocks are disjoint, so the threads write disjoint pixels.
                                Parallel.forChunks(blocks, grain: 16) { range in
                                    for block in range {
                                        let base = blockOrigin(block, bh: bh, bw: bw, b: b, width: w, plane: n)
                                        let x = sp.value + base, out = dp.value + base
                                        for o in UnsafeBufferPointer(rebasing: os[bs[0]..<bs[1]]) { out[o] = 0 }
                                        for s in 0..<k {
                                            let gs = gp[block * k + s]
                                            if gs == 0 { continue }
                                            let set = UnsafeBufferPointer(rebasing: os[bs[s]..<bs[s + 1]])
                                            let value = vs[block * k + s], mean = ms[block * k + s]
                                            let gVar = s == 0 ? gs : (value > 0 ? gs / (2 * value) : 0)
                                            let scale = 2 * gVar / Double(set.count - 1)
                                            for o in set { out[o] += T(scale * (Double(x[o]) - mean)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Offset of block `block` (plane-major, then raster order) in the flat …×H×W buffer.
    @inline(__always)
    static func blockOrigin(_ block: Int, bh: Int, bw: Int, b: Int, width w: Int, plane n: Int) -> Int {
        let p = block / (bh * bw), r = block % (bh * bw)
        return p * n + (r / bw) * b * w + (r % bw) * b
    }
}
