import Foundation

/// A fixed linear map along one image axis stored as a band: output i reads the `taps`
/// consecutive inputs from `start[i]` with `weights[i·taps + k]`.
///
/// Every map the extractors use is banded — the 7-tap Gaussian with zero or replicate borders
/// (the replicated taps merge onto the edge pixel), MATLAB's 0.5 antialiased bicubic resize
/// (≤ 10 taps, mirrored taps merged), replicate padding (one tap) — and so are their transposes,
/// which the backward passes apply. Applying a band costs O(n·taps), where the dense matrix it
/// replaces cost O(n²).
public struct AxisMap: Sendable, Equatable {
    public let inputCount: Int
    public let outputCount: Int
    /// Width of the band (at most `inputCount`).
    public let taps: Int
    /// First input index of each output's band; start[i] + taps ≤ inputCount.
    public let start: [Int]
    /// outputCount × taps weights, row-major.
    public let weights: [Double]

    /// A band from sparse rows: output i is Σ weight·input[index] over `rows[i]` (repeated
    /// indices add).
    public init(inputCount: Int, rows: [[(index: Int, weight: Double)]]) {
        precondition(inputCount > 0, "an axis map needs at least one input")
        var span = 1
        for row in rows where !row.isEmpty {
            let lo = row.map(\.index).min()!, hi = row.map(\.index).max()!
            precondition(lo >= 0 && hi < inputCount, "axis map index out of 0..<\(inputCount)")
            span = Swift.max(span, hi - lo + 1)
        }
        let taps = Swift.min(span, inputCount)
        var start = [Int](repeating: 0, count: rows.count)
        var weights = [Double](repeating: 0, count: rows.count * taps)
        for (i, row) in rows.enumerated() {
            // Left-align the band on its first index, moved left where it would run off the end.
            let lo = row.map(\.index).min() ?? 0
            let s = Swift.max(0, Swift.min(lo, inputCount - taps))
            start[i] = s
            for (j, w) in row { weights[i * taps + j - s] += w }
        }
        self.inputCount = inputCount
        self.outputCount = rows.count
        self.taps = taps
        self.start = start
        self.weights = weights
    }

    /// The sparse rows of this map.
    var rows: [[(index: Int, weight: Double)]] {
        (0..<outputCount).map { i in
            (0..<taps).compactMap { k in
                let w = weights[i * taps + k]
                return w != 0 ? (start[i] + k, w) : nil
            }
        }
    }

    /// The transposed map (inputCount outputs over outputCount inputs): what the backward pass applies.
    public var transposed: AxisMap {
        var rows = [[(index: Int, weight: Double)]](repeating: [], count: inputCount)
        for (i, row) in self.rows.enumerated() {
            for (j, w) in row { rows[j].append((i, w)) }
        }
        return AxisMap(inputCount: outputCount, rows: rows)
    }

    /// n×n correlation with an odd kernel: output i = Σ_t kernel[t]·input[i + t − half], taps
    /// outside 0..<n dropped (zero padding) or moved to the nearest edge (replicate).
    public static func correlation(_ n: Int, kernel: [Double], padding: BorderPadding) -> AxisMap {
        let half = kernel.count / 2
        let rows = (0..<n).map { i -> [(index: Int, weight: Double)] in
            kernel.enumerated().compactMap { t, w in
                let j = i + t - half
                if j >= 0 && j < n { return (j, w) }
                return padding == .zero ? nil : (Swift.min(n - 1, Swift.max(0, j)), w)
            }
        }
        return AxisMap(inputCount: n, rows: rows)
    }

    /// ⌈n/2⌉ outputs of MATLAB `imresize(·, 0.5)` (bicubic, antialiased, mirrored borders).
    public static func halving(_ n: Int) -> AxisMap {
        let w = MATLABResize.halvingWeights(n)
        return AxisMap(inputCount: n, rows: (0..<w.outputCount).map { i in
            zip(w.indices[i], w.weights[i]).map { (index: $0, weight: $1) }
        })
    }

    /// Replicate padding after the end to `padded` samples: output i reads min(i, n − 1).
    public static func replicatePad(_ n: Int, to padded: Int) -> AxisMap {
        AxisMap(inputCount: n, rows: (0..<padded).map { [(index: Swift.min($0, n - 1), weight: 1)] })
    }
}

/// The differentiable image-statistics kernels of the extractors: banded separable filters, the
/// fused MSCN transform, BRISQUE's moment sums and PIQE's block statistics. Each takes a
/// B×C×H×W (or any …×H×W) Float32 or Float64 tensor, works plane by plane in parallel over the
/// leading axes, and has a hand-written backward pass (`Tensor.differentiable`).
public enum FeatureOps {
    /// Y = A·X·Bᵀ on every H×W plane: `rows` (A) maps H, `columns` (B) maps W. The gradient is
    /// Aᵀ·G·B, the same kernel with the transposed bands.
    public static func separable(_ x: Tensor, rows: AxisMap, columns: AxisMap) -> Tensor {
        precondition(x.rank >= 2, "separable filtering needs …×H×W, got \(x.shape)")
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
        precondition(rows.inputCount == h && columns.inputCount == w,
                     "axis maps take \(rows.inputCount)×\(columns.inputCount) planes, got \(h)×\(w)")
        let value = applySeparable(x, rows: rows, columns: columns)
        return Tensor.differentiable(value: value, inputs: [x], name: "separable") { g in
            [applySeparable(g, rows: rows.transposed, columns: columns.transposed)]
        }
    }

    /// The forward kernel of ``separable(_:rows:columns:)`` (nothing recorded).
    static func applySeparable(_ x: Tensor, rows: AxisMap, columns: AxisMap) -> Tensor {
        x.dtype.withFloatType("separable filtering") { applySeparable(x, rows: rows, columns: columns, as: $0) }
    }

    static func applySeparable<T: TensorScalar>(_ x: Tensor, rows: AxisMap, columns: AxisMap, as _: T.Type) -> Tensor {
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
        let planes = x.count / Swift.max(h * w, 1)
        let oh = rows.outputCount, ow = columns.outputCount
        let band = PlaneBand<T>(rows: rows, columns: columns)
        let (out, dst) = Tensor.uninitialized(Array(x.shape.dropLast(2)) + [oh, ow], T.self)
        x.withContiguousScalars(T.self) { src in
            let s = UncheckedSendable(src.baseAddress!), d = UncheckedSendable(dst.baseAddress!)
            Parallel.forChunks(planes, grain: Swift.max(1, 16384 / Swift.max(h * w, 1))) { range in
                let tmp = UnsafeMutablePointer<T>.allocate(capacity: oh * w)
                defer { tmp.deallocate() }
                for p in range {
                    band.apply(s.value + p * h * w, width: w, into: d.value + p * oh * ow, scratch: tmp)
                }
            }
        }
        return out
    }
}


/// Two axis maps with their weights in the working precision, applied to one plane.
struct PlaneBand<T: TensorScalar>: @unchecked Sendable {
    let rows: AxisMap, columns: AxisMap
    let rowWeights: [T], columnWeights: [T]
    /// Outputs j of the column map whose band starts at stride·j + offset with the weights of
    /// `interiorWeights` (the whole interior of a filter or resize): the horizontal pass runs
    /// over them tap by tap, contiguous in j, instead of gathering per output.
    let interior: Range<Int>
    let stride: Int, offset: Int
    let interiorWeights: [T]

    init(rows: AxisMap, columns: AxisMap) {
        self.rows = rows
        self.columns = columns
        rowWeights = rows.weights.map { T($0) }
        columnWeights = columns.weights.map { T($0) }
        // The longest run of outputs around the middle with the middle's weights and a constant step.
        let n = columns.outputCount, k = columns.taps, mid = n / 2
        let step = n > 1 ? (mid + 1 < n ? columns.start[mid + 1] - columns.start[mid] : columns.start[mid] - columns.start[mid - 1]) : 1
        func matches(_ j: Int) -> Bool {
            columns.start[j] - columns.start[mid] == step * (j - mid)
                && columns.weights[(j * k)..<((j + 1) * k)] == columns.weights[(mid * k)..<((mid + 1) * k)]
        }
        var lo = mid, hi = mid
        if n > 0 {
            hi = mid + 1
            while lo > 0 && matches(lo - 1) { lo -= 1 }
            while hi < n && matches(hi) { hi += 1 }
        }
        interior = lo..<hi
        stride = step
        offset = n > 0 ? columns.start[mid] - step * mid : 0
        interiorWeights = n > 0 ? Array(columnWeights[(mid * k)..<((mid + 1) * k)]) : []
    }

    /// dst (oh×ow) = A·src·Bᵀ with src h×width; `scratch` holds oh×width. Rows first (A·X), then
    /// columns, the order of the dense products this replaces; each output sums its taps in order.
    @inline(__always)
    func apply(_ src: UnsafePointer<T>, width w: Int, into dst: UnsafeMutablePointer<T>, scratch tmp: UnsafeMutablePointer<T>) {
        let oh = rows.outputCount, ow = columns.outputCount
        let rt = rows.taps, ct = columns.taps
        rowWeights.withUnsafeBufferPointer { rw in
            rows.start.withUnsafeBufferPointer { rs in
                // Vertical: each output row is a weighted sum of input rows (contiguous, vectorises).
                for i in 0..<oh {
                    let out = tmp + i * w
                    let first = src + rs[i] * w, w0 = rw[i * rt]
                    for x in 0..<w { out[x] = w0 * first[x] }
                    for k in 1..<Swift.max(rt, 1) {
                        let a = rw[i * rt + k]
                        if a == 0 { continue }
                        let line = src + (rs[i] + k) * w
                        for x in 0..<w { out[x] += a * line[x] }
                    }
                }
            }
        }
        let (lo, hi, s, o) = (interior.lowerBound, interior.upperBound, stride, offset)
        columnWeights.withUnsafeBufferPointer { cw in
            columns.start.withUnsafeBufferPointer { cs in
                interiorWeights.withUnsafeBufferPointer { iw in
                    for i in 0..<oh {
                        let line = tmp + i * w, out = dst + i * ow
                        if lo < hi {
                            // Tap by tap over the interior (stride 1: contiguous loads, vectorises).
                            let w0 = iw[0]
                            if s == 1 {
                                let base = line + o
                                for j in lo..<hi { out[j] = w0 * base[j] }
                                for k in 1..<Swift.max(ct, 1) {
                                    let wk = iw[k], shifted = base + k
                                    for j in lo..<hi { out[j] += wk * shifted[j] }
                                }
                            } else {
                                for j in lo..<hi { out[j] = w0 * line[s * j + o] }
                                for k in 1..<Swift.max(ct, 1) {
                                    let wk = iw[k], shifted = line + o + k
                                    for j in lo..<hi { out[j] += wk * shifted[s * j] }
                                }
                            }
                        }
                        // The borders: one gather per output.
                        var j = 0
                        while j < ow {
                            if j == lo && lo < hi { j = hi; continue }
                            let base = line + cs[j], wj = cw.baseAddress! + j * ct
                            var acc = wj[0] * base[0]
                            for k in 1..<Swift.max(ct, 1) { acc += wj[k] * base[k] }
                            out[j] = acc
                            j += 1
                        }
                    }
                }
            }
        }
    }
}
