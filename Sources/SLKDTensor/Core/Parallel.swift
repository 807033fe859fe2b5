import Dispatch
import Foundation
import CSLKDOpenBLAS

/// Splits loops across the machine's cores.
///
/// One level of threading at a time: inside a parallel region OpenBLAS is asked to run
/// single-threaded, so that its own pool does not oversubscribe the cores.
public enum Parallel {
    /// The number of worker threads kernels use (default: active processor count).
    nonisolated(unsafe) public static var threadCount: Int = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body` on disjoint chunks of `0..<count`, in parallel when the work is large enough.
    ///
    /// - Parameters:
    ///   - count: the number of iterations.
    ///   - grain: the smallest number of iterations worth a thread of its own.
    ///   - body: the work for one chunk of indices; chunks may run concurrently.
    @inlinable
    public static func forChunks(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = Swift.min(threadCount, Swift.max(1, count / Swift.max(grain, 1)))
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let chunk = (count + workers - 1) / workers
        withoutActuallyEscaping(body) { body in
            // The closure runs only inside this call, on disjoint ranges.
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let start = w * chunk
                let end = Swift.min(count, start + chunk)
                if start < end { task.value(start..<end) }
            }
        }
    }

    /// Runs `body` for each index in `0..<count` across threads, with OpenBLAS single-threaded
    /// inside, for loops whose iterations each call BLAS (batched matmul, grouped convolution).
    public static func forEachWithSerialBLAS(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || threadCount <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        BLASThreads.withSingleThread {
            forChunks(count) { range in for i in range { body(i) } }
        }
    }
}

/// Control of OpenBLAS's own thread pool.
public enum BLASThreads {
    /// Runs `body` with OpenBLAS limited to one thread, restoring the previous count after.
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        let previous = Int(openblas_get_num_threads())
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(previous)) }
        return try body()
    }

    /// Sets the number of threads OpenBLAS uses for a single large call.
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(count)) }
}

/// Carries a value across a concurrency boundary that the caller knows to be safe.
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @inlinable init(_ value: Value) { self.value = value }
}
