import Synchronization

// Which matrix products a piece of work runs, so that a benchmark can time those products alone.
//
// Why: a model's forward is its BLAS products plus everything else (normalisation, activations,
// attention kernels, copies). Replaying only the products, with the same shapes and the same
// thread split, measures the part no amount of fusion elsewhere can remove: the time of the model
// with everything but its products made free. `slkd-bench`'s `products_*` cases report it
// beside the models (Docs/Benchmarks.md).

/// One call of ``ParallelGEMM/run(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:prepare:finish:)``:
/// C (m×n) = op(A)·op(B) over a reduction of k, in Float or Double.
package struct ProductShape: Sendable, Hashable {
    package var transA: Bool
    package var transB: Bool
    package var m: Int
    package var n: Int
    package var k: Int
    /// Whether the call asked for β = 0 (C overwritten, which costs a zeroing pass first).
    package var overwrites: Bool
    /// Bytes per element: 4 for Float, 8 for Double.
    package var elementSize: Int
    /// Whether it ran inside a parallel region (then unsplit, on one thread, beside the region's
    /// other products: Restormer's attention runs one product per head this way).
    package var insideRegion: Bool

    package init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, overwrites: Bool, elementSize: Int,
                 insideRegion: Bool) {
        (self.transA, self.transB, self.m, self.n, self.k) = (transA, transB, m, n, k)
        (self.overwrites, self.elementSize, self.insideRegion) = (overwrites, elementSize, insideRegion)
    }

    /// Multiply–adds of the product.
    package var macs: Int { m * n * k }
}

/// Records the shape of every product ``ParallelGEMM`` runs inside ``recording(_:)``.
///
/// The record is process-wide, not per task, so that products run on the pool's threads count
/// too; products that other work starts meanwhile are recorded as well. It is meant for
/// benchmarks, which run one piece of work at a time. Outside a recording, the cost is one
/// relaxed atomic load per product.
@usableFromInline
package enum ProductRecorder {
    private struct State {
        var recordings = 0
        var shapes: [ProductShape] = []
    }

    /// Mirrors `state.recordings` for the check on every product, which takes no lock.
    private static let active = Atomic<Int>(0)
    private static let state = Mutex(State())

    /// Runs `body` and returns the products it ran, in order. A recording nested in (or running
    /// beside) another records into both.
    package static func recording(_ body: () throws -> Void) rethrows -> [ProductShape] {
        let start = state.withLock { state in
            state.recordings += 1
            return state.shapes.count
        }
        active.wrappingAdd(1, ordering: .relaxed)
        // The list is emptied when the last recording ends, never while one runs, so `start`
        // stays valid. (The return value is taken before this runs.)
        defer {
            state.withLock { state in
                state.recordings -= 1
                if state.recordings == 0 { state.shapes.removeAll() }
            }
            active.wrappingSubtract(1, ordering: .relaxed)
        }
        try body()
        return state.withLock { Array($0.shapes[start...]) }
    }

    @usableFromInline
    static func record(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, overwrites: Bool, elementSize: Int) {
        guard active.load(ordering: .relaxed) != 0 else { return }
        let shape = ProductShape(transA: transA, transB: transB, m: m, n: n, k: k, overwrites: overwrites,
                                 elementSize: elementSize, insideRegion: Parallel.isInsideRegion)
        state.withLock { state in
            if state.recordings > 0 { state.shapes.append(shape) }
        }
    }
}
