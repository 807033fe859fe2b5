import Dispatch
import Foundation
import CSLKDKernels
import CSLKDOpenBLAS
import Synchronization

/// Splits loops across the machine's cores.
///
/// One pool and one level of threading at a time: OpenBLAS runs single-threaded and large
/// matrix products are split across this pool too (see `ParallelGEMM`), and code already inside
/// a parallel region does not split again.
public enum Parallel {
    /// The number of worker threads kernels use (default: active processor count).
    nonisolated(unsafe) public static var threadCount: Int = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Marks the threads running a chunk of a parallel region (a per-thread flag, so that
    /// regions other threads run — a background data loader — do not count).
    @usableFromInline static let regionKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    /// Whether this thread is running a chunk of a parallel region, so that work started there
    /// (a large matrix product) stays on this thread instead of splitting again.
    @inlinable
    public static var isInsideRegion: Bool { pthread_getspecific(regionKey) != nil }

    /// Runs one chunk with this thread marked as inside a region (restoring the mark after).
    @usableFromInline
    static func asRegionChunk(_ body: () -> Void) {
        let outer = pthread_getspecific(regionKey)
        pthread_setspecific(regionKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(regionKey, outer) }
        body()
    }

    /// Chunks per thread that ``forChunks(_:grain:chunksPerThread:_:)`` aims for (default 4; 1 gives
    /// one chunk per thread).
    ///
    /// Why more than one: chunks are claimed as threads become free, so a thread that the host
    /// held up, or that got the slower part of a region, leaves its remaining chunks to the
    /// others instead of making them wait. On a busy 2-core Zen 3 host, four per thread ran
    /// Uformer-B's forward 5–15 % faster in five of six alternating rounds; on a quiet one the
    /// difference was within the noise (Docs/Benchmarks.md). Each chunk is still at least `grain`
    /// iterations. Set it before the work starts, from one thread.
    nonisolated(unsafe) public static var chunksPerThread: Int = 4

    /// Runs `body` on disjoint chunks of `0..<count`, in parallel when the work is large enough
    /// and this thread is not already running a chunk of a region (then `body` gets the whole range).
    ///
    /// How `0..<count` is cut depends only on `count`, `grain`, ``threadCount`` and the chunks per
    /// thread, never on timing, so a body whose result depends on where its chunk starts (one
    /// that keeps a partial sum per chunk) is still deterministic.
    ///
    /// - Parameters:
    ///   - count: the number of iterations.
    ///   - grain: the smallest number of iterations worth a chunk of its own.
    ///   - perThread: `chunksPerThread:`, overrides ``chunksPerThread`` (1 for a body with per-chunk scratch
    ///     that is costly to set up or combine).
    ///   - body: the work for one chunk of indices; chunks may run concurrently.
    @inlinable
    public static func forChunks(_ count: Int, grain: Int = 1, chunksPerThread perThread: Int? = nil,
                                 _ body: (Range<Int>) -> Void) {
        let pieces = Swift.max(1, count / Swift.max(grain, 1))
        let workers = Swift.min(threadCount, pieces)
        // Inside a chunk the other threads are busy with the same region: run this one here.
        if workers <= 1 || isInsideRegion {
            if count > 0 { body(0..<count) }
            return
        }
        let chunks = Swift.min(pieces, workers * Swift.max(1, perThread ?? chunksPerThread))
        let chunk = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            // The closure runs only inside this call, on disjoint ranges.
            runRegion(workers: workers, chunks: chunks) { w in
                let start = w * chunk
                let end = Swift.min(count, start + chunk)
                if start < end { body(start..<end) }
            }
        }
    }

    /// How long an idle worker of the pool spins, waiting for the next region, before it sleeps
    /// (default 100 µs, or `SLKD_POOL_SPIN_US`).
    ///
    /// Why spin: a forward opens a region every ~100 µs, and waking a sleeping thread costs a
    /// system call and a context switch per region (Docs/Benchmarks.md). 0 makes idle workers
    /// sleep at once, for programs that need the other cores between regions.
    public static var idleSpinMicroseconds: Int {
        get { configurePoolOnce; return slkd_pool_spin_microseconds() }
        set { configurePoolOnce; slkd_pool_set_spin_microseconds(newValue) }
    }

    private static let configurePoolOnce: Void = {
        if let text = ProcessInfo.processInfo.environment["SLKD_POOL_SPIN_US"], let value = Int(text), value >= 0 {
            slkd_pool_set_spin_microseconds(value)
        }
    }()

    /// Runs `chunk(w)` for w in 0..<chunks on `workers` threads, each marked as a region chunk: on
    /// the pool (CSLKDKernels' `slkd_pool_run`), or on libdispatch when the pool is taken by
    /// another thread's region.
    @usableFromInline
    static func runRegion(workers: Int, chunks: Int, _ chunk: (Int) -> Void) {
        configurePoolOnce
        withoutActuallyEscaping(chunk) { chunk in
            let task = RegionTask(chunk: chunk)
            let context = Unmanaged.passUnretained(task).toOpaque()
            let ran = slkd_pool_run(workers, chunks, runRegionChunk, context)
            withExtendedLifetime(task) {}
            if ran == 0 { return }
            let sendable = UncheckedSendable(chunk)
            DispatchQueue.concurrentPerform(iterations: chunks) { w in asRegionChunk { sendable.value(w) } }
        }
    }

    /// The pool's entry point for one chunk: `context` is the region's ``RegionTask``.
    private static let runRegionChunk: @convention(c) (UnsafeMutableRawPointer?, Int) -> Void = { context, index in
        let task = Unmanaged<RegionTask>.fromOpaque(context!).takeUnretainedValue()
        asRegionChunk { task.chunk(index) }
    }

    /// The closure of a region, passed to the C pool as its context.
    private final class RegionTask {
        let chunk: (Int) -> Void
        init(chunk: @escaping (Int) -> Void) { self.chunk = chunk }
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
///
/// SLKD sets it to one thread before its first matrix product and splits large products over
/// ``Parallel/threadCount`` itself; ``set(_:)`` is for programs that call BLAS directly.
public enum BLASThreads {
    private static let madeSerial = Atomic<Bool>(false)

    /// Sets OpenBLAS to one thread the first time SLKD multiplies matrices.
    @usableFromInline
    static func makeSerialOnce() {
        if madeSerial.load(ordering: .relaxed) { return }
        if madeSerial.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            openblas_set_num_threads(1)
        }
    }

    /// Runs `body` with OpenBLAS limited to one thread, restoring the previous count after.
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        try withThreads(1, body)
    }

    /// Runs `body` with OpenBLAS using `count` threads, restoring the previous count after (for
    /// code that calls BLAS directly, such as a benchmark's raw `sgemm` baseline).
    public static func withThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        makeSerialOnce()
        let previous = Int(openblas_get_num_threads())
        if previous != count { openblas_set_num_threads(Int32(count)) }
        defer { if previous != count { openblas_set_num_threads(Int32(previous)) } }
        return try body()
    }

    /// Sets the number of threads OpenBLAS uses for a single large call. SLKD's own products
    /// stay serial inside its parallel regions but use this count outside them: leave it at one
    /// unless your own code calls BLAS.
    public static func set(_ count: Int) {
        makeSerialOnce()
        openblas_set_num_threads(Int32(count))
    }
}
