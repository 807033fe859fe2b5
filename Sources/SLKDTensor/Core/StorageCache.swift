import Synchronization

/// Keeps freed large tensor buffers for reuse, so that a training loop, which allocates the
/// same shapes every step, stops paying the kernel for fresh pages.
///
/// Why: glibc serves allocations of 128 KiB and more with `mmap` and returns them with
/// `munmap`, so every large activation of every step faults in zeroed pages (one fault per
/// 4 KiB) and every free shoots down TLBs on all threads. A batch-8 SLKD step took 33.4 s
/// without reuse and 25.4 s with it (Docs/Benchmarks.md). Reusing a buffer of the same size
/// costs a dictionary lookup instead.
///
/// The cache never holds more than ``limit`` bytes, and on a miss it frees the blocks that were
/// freed longest ago while live plus cached tensor memory exceeds 1.5× the largest live figure
/// seen so far: a program whose shapes change does not grow much beyond what it already needed.
/// Blocks are bucketed by their size rounded up to a 4 KiB page; smaller allocations go straight
/// to the system allocator, which recycles them itself.
public enum TensorMemoryCache {
    /// Allocations below this size are not cached.
    public static let minimumBlockBytes = 128 << 10

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
        for block in blocks { block.pointer.deallocate() }
    }

    // MARK: Allocation (TensorStorage)

    /// A 64-byte-aligned block of at least `bytes` bytes, and the byte count to free it with.
    static func allocate(bytes: Int) -> (pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= minimumBlockBytes else {
            return (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
        }
        let size = (bytes + pageBytes - 1) / pageBytes * pageBytes
        let (hit, evicted) = state.withLock { $0.take(size) }
        for block in evicted { block.pointer.deallocate() }
        return (hit?.pointer ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64), size)
    }

    /// Hands back a block from ``allocate(bytes:)``.
    static func free(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= minimumBlockBytes else { return pointer.deallocate() }
        let block = Block(pointer: pointer)
        let kept = state.withLock { $0.put(block, size: bytes) }
        if !kept { pointer.deallocate() }
    }

    private static let pageBytes = 4096

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
        private var clock = 0

        package init() {}

        package mutating func take(_ size: Int) -> (Block?, [Block]) {
            liveBytes += size
            peakLiveBytes = Swift.max(peakLiveBytes, liveBytes)
            if let entry = blocks[size]?.popLast() {
                if blocks[size]!.isEmpty { blocks[size] = nil }
                cachedBytes -= size
                return (entry.block, [])
            }
            // A miss: the system allocator will provide fresh bytes. Free the least recently
            // freed blocks while live plus cached memory exceeds the high-water mark by half. The
            // slack lets a step's differently sized temporaries coexist with the blocks of its
            // first phase: with a quarter, a distillation step's teacher forward, which runs
            // first, found its blocks evicted by the student's backward every step (+3 s at batch 8).
            var evicted: [Block] = []
            while cachedBytes > 0 && liveBytes + cachedBytes > peakLiveBytes + peakLiveBytes / 2 {
                guard let oldest = blocks.min(by: { $0.value[0].freedAt < $1.value[0].freedAt })?.key else { break }
                evicted.append(blocks[oldest]!.removeFirst().block)
                if blocks[oldest]!.isEmpty { blocks[oldest] = nil }
                cachedBytes -= oldest
            }
            return (nil, evicted)
        }

        package mutating func put(_ block: Block, size: Int) -> Bool {
            liveBytes -= size
            guard cachedBytes + size <= limit else { return false }
            clock += 1
            blocks[size, default: []].append((block, clock))
            cachedBytes += size
            return true
        }

        package mutating func takeAll() -> [Block] {
            let all = blocks.values.flatMap { $0.map(\.block) }
            blocks = [:]
            cachedBytes = 0
            return all
        }
    }

    private static let state = Mutex(BlockPool())
}
