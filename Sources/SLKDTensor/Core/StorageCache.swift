import CSLKDKernels
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps freed large tensor buffers for reuse, so that a training loop, which allocates the
/// same shapes every step, stops paying the kernel for fresh pages.
///
/// Why: glibc serves allocations of 128 KiB and more with `mmap` and returns them with
/// `munmap`, so every large activation of every step faults in zeroed pages (one fault per
/// 4 KiB) and every free shoots down TLBs on all threads. A batch-8 SLKD step took 33.4 s
/// without reuse and 25.4 s with it (Docs/Benchmarks.md). Reusing a freed buffer costs a
/// dictionary lookup instead.
///
/// The cache never holds more than ``limit`` bytes, and on a miss it gives up the blocks that were
/// freed longest ago while live plus cached tensor memory exceeds the largest live figure seen so
/// far plus a small allowance (a quarter of it, at most ``forwardSlackCapBytes``, in forwards
/// without a graph; half of it while a graph is recorded). The largest block
/// given up is not freed but resized to the request (`mremap`), keeping its faulted-in pages; the
/// rest are freed. Blocks are bucketed by their size rounded up to a 4 KiB page, and a request
/// takes the smallest cached block of its size up to twice it; smaller allocations go straight to
/// the system allocator, which recycles them itself. Cached-size blocks are the cache's own
/// anonymous mappings, not malloc's, so that they can be resized.
///
/// On glibc, the first tensor allocation fixes malloc's `mmap` threshold at
/// ``minimumBlockBytes`` (`mallopt(M_MMAP_THRESHOLD)`), for the whole process; see
/// ``fixesMallocThreshold``.
public enum TensorMemoryCache {
    /// Allocations below this size are not cached.
    public static let minimumBlockBytes = 128 << 10

    /// The most bytes beyond the live peak that the cache keeps in forwards without a graph
    /// (64 MiB; see `BlockPool.allowedBytes(keepingSlack:)`).
    public static let forwardSlackCapBytes = 64 << 20

    /// The most bytes the cache holds (default 8 GiB); 0 turns caching off. Lowering it does not
    /// shrink the cache at once: call ``releaseCachedBlocks()``.
    public static var limit: Int {
        get { state.withLock { $0.limit } }
        set { state.withLock { $0.limit = Swift.max(0, newValue) } }
    }

    /// The bytes held in the cache now, not in any tensor.
    public static var cachedBytes: Int { state.withLock { $0.cachedBytes } }

    /// Returns every cached block to the system allocator.
    public static func releaseCachedBlocks() {
        let blocks = state.withLock { $0.takeAll() }
        for (block, size) in blocks { slkd_block_unmap(block.pointer, size) }
    }

    // MARK: Allocation (TensorStorage)

    /// A 64-byte-aligned block of at least `bytes` bytes, and the byte count to free it with.
    ///
    /// `forScratch`: a kernel's scratch buffer, often taken on a pool thread, where `GradMode`
    /// reads its default whatever the caller runs under; it takes the allowance of what the
    /// process has done so far (`BlockPool.take(_:keepingSlack:)`) and never marks a graph.
    static func allocate(bytes: Int, forScratch: Bool = false) -> (pointer: UnsafeMutableRawPointer, bytes: Int) {
        _ = fixesMallocThreshold
        guard bytes >= minimumBlockBytes else {
            return (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
        }
        let size = (bytes + pageBytes - 1) / pageBytes * pageBytes
        // Read outside the lock: a task-local lookup.
        let keepsSlack = !forScratch && GradMode.isEnabled
        let taken = state.withLock { $0.take(size, keepingSlack: keepsSlack) }
        for (block, size) in taken.evicted { slkd_block_unmap(block.pointer, size) }
        guard let block = taken.block else { return (map(size), size) }
        guard let oldSize = taken.resizedFrom else { return (block.pointer, taken.size) }
        if let resized = slkd_block_resize(block.pointer, oldSize, size) { return (resized, size) }
        slkd_block_unmap(block.pointer, oldSize)
        return (map(size), size)
    }

    /// Runs `body` with an uninitialised buffer of `count` elements taken from the cache like a
    /// tensor's, and hands it back afterwards: for kernels' scratch buffers (im2col columns,
    /// padded planes), which would otherwise be mapped and faulted in afresh on every call.
    package static func withScratch<T, R>(_: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
        let (pointer, bytes) = allocate(bytes: Swift.max(count, 1) * MemoryLayout<T>.stride, forScratch: true)
        defer { free(pointer, bytes: bytes) }
        return try body(pointer.bindMemory(to: T.self, capacity: Swift.max(count, 1)))
    }

    /// Fresh page-aligned bytes (so 64-byte aligned) from the system; like Swift's own allocation,
    /// running out of memory ends the process.
    private static func map(_ size: Int) -> UnsafeMutableRawPointer {
        guard let block = slkd_block_map(size) else { fatalError("SLKD: the system refused \(size) bytes of memory") }
        return block
    }

    /// Records that a backward pass runs: from now on the cache keeps the training allowance in
    /// forwards without a graph too (see `BlockPool.take(_:keepingSlack:)`).
    static func noteBackwardPass() {
        state.withLock { $0.hasTrained = true }
    }

    /// Hands back a block from ``allocate(bytes:)``.
    static func free(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= minimumBlockBytes else { return pointer.deallocate() }
        let block = Block(pointer: pointer)
        let kept = state.withLock { $0.put(block, size: bytes) }
        if !kept { slkd_block_unmap(pointer, bytes) }
    }

    private static let pageBytes = 4096

    /// Whether malloc's `mmap` threshold was fixed at ``minimumBlockBytes`` (glibc only; done once).
    ///
    /// Why: glibc starts with that threshold but raises it to the size of every `mmap`ed block
    /// freed, up to 32 MiB. After the first large tensor or kernel scratch buffer is freed, buffers
    /// up to that size come from malloc's heaps instead, and freed ones stay resident there,
    /// fragmented, for good: a DRS-SL forward at 128² (149 MiB of tensors) then peaked at 332 MiB
    /// of RSS without the cache, 156 MiB with the threshold fixed (Docs/Benchmarks.md, issue 16).
    /// A fixed threshold (which also turns glibc's adjustment off) returns every large buffer
    /// that kernels or anyone else free to the system. (The cache's own blocks are mappings of
    /// their own and leave the process when it evicts them.) `mallopt` is looked up at run time because the Glibc module does not export it.
    public static let fixesMallocThreshold: Bool = {
        #if canImport(Glibc)
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in <malloc.h>
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        return unsafeBitCast(symbol, to: MallOpt.self)(mmapThreshold, Int32(minimumBlockBytes)) == 1
        #else
        return false
        #endif
    }()

    /// A free block; it belongs to no tensor, so it may cross threads.
    package struct Block: @unchecked Sendable {
        package let pointer: UnsafeMutableRawPointer
        package init(pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    }

    /// The bookkeeping behind the cache, without the lock or the system allocator: which free
    /// blocks to hand out, to keep and to evict.
    package struct BlockPool {
        package var limit = 8 << 30
        /// Free blocks by size; each stack's last element is the most recently freed.
        var blocks: [Int: [(block: Block, freedAt: Int)]] = [:]
        package private(set) var cachedBytes = 0
        /// Bytes of cacheable blocks handed out and not yet returned, and their high-water mark.
        package private(set) var liveBytes = 0
        package private(set) var peakLiveBytes = 0
        /// Whether a backward pass has run in this process (``TensorMemoryCache/noteBackwardPass()``).
        package var hasTrained = false
        private var clock = 0

        package init() {}

        /// What a request gets from the pool.
        package struct Taken {
            /// A cached block (nil: map `size` fresh bytes).
            package var block: Block?
            /// The size the block is to be freed with.
            package var size: Int
            /// When `block` is a cached block of another size, that size: the caller resizes it
            /// to `size`.
            package var resizedFrom: Int?
            /// Blocks, with their sizes, that the caller must return to the system.
            package var evicted: [(block: Block, size: Int)]
        }

        /// A cached block for a request of `size` bytes, or the instruction to resize or map one.
        ///
        /// `keepingSlack`: whether a graph may be recorded. Once a backward pass has run
        /// (`hasTrained`), every request gets the training allowance, forwards without a graph
        /// included. Why: in a training process the tight forward bound trimmed the cache at every
        /// teacher forward of a distillation step, and the student's forward and backward then
        /// mapped and faulted in fresh pages every step (Docs/Benchmarks.md, issue 16). A process
        /// that trains has shown that it needs the training peak; one that only infers keeps the
        /// tight bound.
        package mutating func take(_ size: Int, keepingSlack: Bool = false) -> Taken {
            if let fit = bestFit(size), let entry = blocks[fit]?.popLast() {
                if blocks[fit]!.isEmpty { blocks[fit] = nil }
                cachedBytes -= fit
                noteLive(fit)
                return Taken(block: entry.block, size: fit, resizedFrom: nil, evicted: [])
            }
            noteLive(size)
            // A miss. Give up the least recently freed blocks while live plus cached memory exceeds
            // the allowance (`allowedBytes`).
            let allowed = allowedBytes(keepingSlack: keepingSlack || hasTrained)
            var evicted: [(block: Block, size: Int)] = []
            while cachedBytes > 0 && liveBytes + cachedBytes > allowed {
                guard let oldest = blocks.min(by: { $0.value[0].freedAt < $1.value[0].freedAt })?.key else { break }
                evicted.append((blocks[oldest]!.removeFirst().block, oldest))
                if blocks[oldest]!.isEmpty { blocks[oldest] = nil }
                cachedBytes -= oldest
            }
            // The largest block given up serves the request, resized: its pages stay resident
            // and only the difference, if the request is larger, is faulted in.
            guard let largest = evicted.indices.max(by: { evicted[$0].size < evicted[$1].size }) else {
                return Taken(block: nil, size: size, resizedFrom: nil, evicted: [])
            }
            let recycled = evicted.remove(at: largest)
            return Taken(block: recycled.block, size: size, resizedFrom: recycled.size, evicted: evicted)
        }

        /// How far live plus cached memory may reach before a miss gives blocks up.
        ///
        /// While a graph is recorded: half the peak again, so that a training step's differently
        /// sized temporaries coexist with the blocks of its first phase (with a quarter, a
        /// distillation step's teacher forward found its blocks evicted by the student's backward
        /// every step, +3 s at batch 8). Without a graph: a quarter of the peak, at most
        /// ``forwardSlackCapBytes``. No slack at all left forwards faulting in pages for every
        /// block a miss had to grow (Res-SL's forward 272 k faults per bench process, 85 k with this
        /// allowance, and 15–38 % faster); half the peak put DRSformer's max RSS (630 MiB) above
        /// PyTorch's (551–597). The cap was 16 MiB until DRSformer's fused MSFN crossing lowered
        /// its peak by a quarter; at 64 MiB its forward faults in half the pages (0.91 → 0.41 M per
        /// bench process) and runs about 10 % faster, at 418 MiB of RSS. Measured A/B in
        /// Docs/Benchmarks.md, issue 16.
        package func allowedBytes(keepingSlack: Bool) -> Int {
            keepingSlack ? peakLiveBytes + peakLiveBytes / 2
                : peakLiveBytes + Swift.min(peakLiveBytes / 4, TensorMemoryCache.forwardSlackCapBytes)
        }

        private mutating func noteLive(_ size: Int) {
            liveBytes += size
            peakLiveBytes = Swift.max(peakLiveBytes, liveBytes)
        }

        /// The smallest cached size from `size` up to twice `size`.
        ///
        /// Why larger blocks: with exact sizes only, the cache must hold, for every size, as many
        /// blocks as were ever live at once — more than the peak of all of them together — or evict
        /// and fault fresh pages every pass. A block at most twice too large wastes no new memory
        /// (its pages are resident already) and lets the cache stay within the peak.
        private func bestFit(_ size: Int) -> Int? {
            if blocks[size] != nil { return size }
            return blocks.keys.filter { $0 > size && $0 <= 2 * size }.min()
        }

        package mutating func put(_ block: Block, size: Int) -> Bool {
            liveBytes -= size
            guard cachedBytes + size <= limit else { return false }
            clock += 1
            blocks[size, default: []].append((block, clock))
            cachedBytes += size
            return true
        }

        package mutating func takeAll() -> [(block: Block, size: Int)] {
            let all = blocks.flatMap { size, stack in stack.map { ($0.block, size) } }
            blocks = [:]
            cachedBytes = 0
            return all
        }
    }

    private static let state = Mutex(BlockPool())
}

