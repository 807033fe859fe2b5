/// A plan for visiting every element of a shape through several strided operands at once.
///
/// Axes of size one are dropped and neighbouring axes that are contiguous in every operand are
/// merged, so the innermost run is as long as possible; kernels then loop over runs with plain
/// pointer strides. This is the one place that knows about non-contiguous layouts.
@usableFromInline
struct StridedLoop {
    /// Sizes of the merged outer axes (everything but the innermost run).
    @usableFromInline var outerShape: [Int]
    /// Per operand, the strides of the merged outer axes.
    @usableFromInline var outerStrides: [[Int]]
    /// Length of the innermost run.
    @usableFromInline var inner: Int
    /// Per operand, the stride inside a run.
    @usableFromInline var innerStrides: [Int]
    /// Number of runs.
    @usableFromInline var outerCount: Int

    @usableFromInline
    init(shape: [Int], strides: [[Int]]) {
        var dims: [Int] = []
        var st: [[Int]] = Array(repeating: [], count: strides.count)
        for axis in 0..<shape.count where shape[axis] != 1 {
            if let last = dims.last,
               (0..<strides.count).allSatisfy({ st[$0].last! == strides[$0][axis] * shape[axis] }) {
                dims[dims.count - 1] = last * shape[axis]
                for k in 0..<strides.count { st[k][st[k].count - 1] = strides[k][axis] }
            } else {
                dims.append(shape[axis])
                for k in 0..<strides.count { st[k].append(strides[k][axis]) }
            }
        }
        if dims.isEmpty {
            dims = [shape.contains(0) ? 0 : 1]
            st = Array(repeating: [0], count: strides.count)
        }
        inner = dims.removeLast()
        innerStrides = st.map { $0.last! }
        outerStrides = st.map { Array($0.dropLast()) }
        outerShape = dims
        outerCount = dims.reduce(1, *)
    }

    /// Calls `body(offsets, n)` for each run whose index is in `runs`; `offsets[k]` is operand
    /// k's element offset of the run start (relative to its base pointer).
    @inlinable
    func forEachRun(in runs: Range<Int>, _ body: (UnsafeMutablePointer<Int>) -> Void) {
        let operands = innerStrides.count
        let rank = outerShape.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: operands + rank + 1) { scratch in
            let offsets = scratch.baseAddress!
            let counter = offsets + operands
            // Position the counter at the first run of the range.
            var rest = runs.lowerBound
            for k in 0..<operands { offsets[k] = 0 }
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                let i = rest % outerShape[axis]
                rest /= outerShape[axis]
                counter[axis] = i
                for k in 0..<operands { offsets[k] += i * outerStrides[k][axis] }
            }
            for _ in runs {
                body(offsets)
                // Advance the counter by one run.
                var axis = rank - 1
                while axis >= 0 {
                    counter[axis] += 1
                    for k in 0..<operands { offsets[k] += outerStrides[k][axis] }
                    if counter[axis] < outerShape[axis] { break }
                    for k in 0..<operands { offsets[k] -= outerStrides[k][axis] * outerShape[axis] }
                    counter[axis] = 0
                    axis -= 1
                }
            }
        }
    }

    /// Calls `body(offsets, elements)` for every run across ``Parallel``'s threads, `elements` a
    /// range of positions inside the run (operand k's element i at `offsets[k] + i·innerStrides[k]`).
    ///
    /// Whole runs are split between threads, `grain` elements' worth per thread at least. When
    /// there are fewer runs than threads and they are long, the runs are cut into pieces instead:
    /// a broadcast against a scalar (`x * 0.5`) or a channel slice of one image merges into a
    /// single run, which would otherwise run on one thread.
    @inlinable
    func forEachPieceInParallel(grain: Int, _ body: (UnsafeMutablePointer<Int>, Range<Int>) -> Void) {
        let n = inner
        if outerCount < Parallel.threadCount && n >= 2 * grain {
            let pieces = Swift.min((n + grain - 1) / grain, 4 * Parallel.threadCount)
            let piece = (n + pieces - 1) / pieces
            Parallel.forChunks(outerCount * pieces) { tasks in
                for task in tasks {
                    let start = (task % pieces) * piece, end = Swift.min(n, start + piece)
                    guard start < end else { continue }
                    forEachRun(in: (task / pieces)..<(task / pieces + 1)) { offsets in body(offsets, start..<end) }
                }
            }
            return
        }
        Parallel.forChunks(outerCount, grain: Swift.max(1, grain / Swift.max(n, 1))) { runs in
            forEachRun(in: runs) { offsets in body(offsets, 0..<n) }
        }
    }
}
