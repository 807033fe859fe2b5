import CSLKDKernels
import RealModule

/// How a reduction combines one strided run of elements into an accumulator.
@usableFromInline
protocol RunReducer {
    associatedtype Scalar: TensorScalar
    static var identity: Scalar { get }
    static func combine(_ a: Scalar, _ b: Scalar) -> Scalar
    static func reduce(_ a: Scalar, _ p: UnsafePointer<Scalar>, count: Int, stride: Int) -> Scalar
}

@usableFromInline
enum SumReducer<Scalar: TensorScalar>: RunReducer {
    @inlinable static var identity: Scalar { 0 }
    @inlinable static func combine(_ a: Scalar, _ b: Scalar) -> Scalar { a + b }
    @inlinable
    static func reduce(_ a: Scalar, _ p: UnsafePointer<Scalar>, count n: Int, stride s: Int) -> Scalar {
        if s == 1 && Scalar.self == Float.self {
            // The C kernel: 64 partial sums in a fixed order on every SIMD path; the Swift loop
            // below reached half of memcpy's bandwidth on one core.
            let sum = slkd_sum_f32(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), n)
            return a + unsafeBitCast(sum, to: Scalar.self)
        }
        if s == 1 {
            // Reassociation lets the compiler vectorise; 8 lanes of partial sums.
            var acc: Scalar = 0
            for i in 0..<n { acc = Relaxed.sum(acc, p[i]) }
            return a + acc
        }
        var acc = a
        for i in 0..<n { acc += p[i * s] }
        return acc
    }
}

@usableFromInline
enum MaxReducer<Scalar: TensorScalar>: RunReducer {
    @inlinable static var identity: Scalar { -.infinity }
    /// A NaN on either side wins, as in `torch.amax` (once `a` is NaN, `b > a` is always false).
    @inlinable static func combine(_ a: Scalar, _ b: Scalar) -> Scalar { (b > a || b.isNaN) ? b : a }
    @inlinable
    static func reduce(_ a: Scalar, _ p: UnsafePointer<Scalar>, count n: Int, stride s: Int) -> Scalar {
        var acc = a
        for i in 0..<n { acc = combine(acc, p[i * s]) }
        return acc
    }
}

@usableFromInline
enum MinReducer<Scalar: TensorScalar>: RunReducer {
    @inlinable static var identity: Scalar { .infinity }
    /// A NaN on either side wins, as in `torch.amin`.
    @inlinable static func combine(_ a: Scalar, _ b: Scalar) -> Scalar { (b < a || b.isNaN) ? b : a }
    @inlinable
    static func reduce(_ a: Scalar, _ p: UnsafePointer<Scalar>, count n: Int, stride s: Int) -> Scalar {
        var acc = a
        for i in 0..<n { acc = combine(acc, p[i * s]) }
        return acc
    }
}

extension Tensor {
    /// Normalised, sorted, unique axes (all axes when `axes` is nil).
    @usableFromInline
    func reductionAxes(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { Shape.axis($0, rank: rank) })).sorted()
    }

    /// The shape after reducing `axes`, keeping them as size 1.
    @usableFromInline
    func keptShape(reducing axes: [Int]) -> [Int] {
        var s = shape
        for a in axes { s[a] = 1 }
        return s
    }

    /// Reduces `axes` with `R`, returning the keep-dims shape.
    ///
    /// When the innermost axis is reduced, each output reads one contiguous group of runs, and
    /// outputs are split across threads. Otherwise (reducing leading axes, e.g. a bias gradient)
    /// rows are accumulated into the output, which keeps the memory access sequential.
    @inlinable
    func reduce<R: RunReducer>(axes: [Int], _: R.Type) -> Tensor {
        typealias T = R.Scalar
        let outShape = keptShape(reducing: axes)
        let input = self
        let src = input.basePointer(T.self)
        let innermost = shape.lastIndex(where: { $0 != 1 })
        let reducesInner = innermost.map { axes.contains($0) } ?? true
        if reducesInner {
            let kept = (0..<rank).filter { !axes.contains($0) }
            let keptShape = kept.map { shape[$0] }
            let keptStrides = kept.map { strides[$0] }
            let inner = StridedLoop(shape: axes.map { shape[$0] }, strides: [axes.map { strides[$0] }])
            let outCount = Shape.count(keptShape)
            return Tensor.make(outShape, T.self) { out in
                let dst = out.baseAddress!
                let perOutput = Swift.max(1, inner.outerCount * inner.inner)
                Parallel.forChunks(outCount, grain: Swift.max(1, elementwiseGrain / perOutput)) { range in
                    for o in range {
                        // Offset of output o's group: unravel o over the kept axes.
                        var rest = o, base = 0
                        for k in stride(from: keptShape.count - 1, through: 0, by: -1) {
                            base += (rest % keptShape[k]) * keptStrides[k]
                            rest /= keptShape[k]
                        }
                        var acc = R.identity
                        inner.forEachRun(in: 0..<inner.outerCount) { io in
                            acc = R.reduce(acc, src + base + io[0], count: inner.inner, stride: inner.innerStrides[0])
                        }
                        dst[o] = acc
                    }
                }
            }
        }
        let outStrides = Swift.zip(Shape.contiguousStrides(outShape), outShape).map { $1 == 1 ? 0 : $0 }
        let loop = StridedLoop(shape: shape, strides: [outStrides, strides])
        return Tensor.make(outShape, T.self) { out in
            let dst = out.baseAddress!
            out.initialize(repeating: R.identity)
            let n = loop.inner, ds = loop.innerStrides[0], ss = loop.innerStrides[1]
            if ds == 0 {
                loop.forEachRun(in: 0..<loop.outerCount) { offsets in
                    dst[offsets[0]] = R.reduce(dst[offsets[0]], src + offsets[1], count: n, stride: ss)
                }
                return
            }
            // Threads split the columns of each run, so every output element still sees its
            // inputs in the same order (results do not depend on the thread count), and the
            // unit-stride case is a plain loop the compiler vectorises.
            let columnGrain = Swift.max(1, elementwiseGrain / Swift.max(loop.outerCount, 1))
            var runs: [(destination: Int, source: Int)] = []
            runs.reserveCapacity(loop.outerCount)
            loop.forEachRun(in: 0..<loop.outerCount) { offsets in runs.append((offsets[0], offsets[1])) }
            Parallel.forChunks(n, grain: columnGrain) { columns in
                var r = 0
                while r < runs.count {
                    let d = dst + runs[r].destination
                    if ds == 1 && ss == 1 {
                        // Up to four consecutive runs into the same outputs are combined in
                        // registers, in run order: the same bits as one run at a time, with a
                        // quarter of the loads and stores of the outputs.
                        var group = 1
                        while group < 4 && r + group < runs.count
                            && runs[r + group].destination == runs[r].destination { group += 1 }
                        let s0 = src + runs[r].source
                        switch group {
                        case 4:
                            let s1 = src + runs[r + 1].source, s2 = src + runs[r + 2].source
                            let s3 = src + runs[r + 3].source
                            for i in columns {
                                d[i] = R.combine(R.combine(R.combine(R.combine(d[i], s0[i]), s1[i]), s2[i]), s3[i])
                            }
                        case 3:
                            let s1 = src + runs[r + 1].source, s2 = src + runs[r + 2].source
                            for i in columns { d[i] = R.combine(R.combine(R.combine(d[i], s0[i]), s1[i]), s2[i]) }
                        case 2:
                            let s1 = src + runs[r + 1].source
                            for i in columns { d[i] = R.combine(R.combine(d[i], s0[i]), s1[i]) }
                        default:
                            for i in columns { d[i] = R.combine(d[i], s0[i]) }
                        }
                        r += group
                    } else {
                        let s = src + runs[r].source
                        for i in columns { d[i * ds] = R.combine(d[i * ds], s[i * ss]) }
                        r += 1
                    }
                }
            }
        }
    }
}
