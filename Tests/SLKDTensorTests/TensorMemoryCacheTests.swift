import Testing
import SLKDTensor

/// The cache's bookkeeping (`TensorMemoryCache.BlockPool`), driven directly so that no other
/// test's tensors take part: hits by size, the limit, and which blocks a miss evicts.
@Suite("Tensor memory cache")
struct TensorMemoryCacheTests {
    final class Blocks {
        var all: [UnsafeMutableRawPointer] = []
        func make() -> TensorMemoryCache.Block {
            let p = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            all.append(p)
            return TensorMemoryCache.Block(pointer: p)
        }
        deinit { for p in all { p.deallocate() } }
    }

    @Test func freedBlockIsHandedOutAgainForTheSameSize() {
        let blocks = Blocks()
        var pool = TensorMemoryCache.BlockPool()
        let first = pool.take(4096).0                 // nothing cached yet
        #expect(first == nil)
        let a = blocks.make()
        let kept = pool.put(a, size: 4096)
        #expect(kept && pool.cachedBytes == 4096)
        let again = pool.take(4096).0
        #expect(again?.pointer == a.pointer)
        #expect(pool.cachedBytes == 0)
        _ = pool.put(a, size: 4096)
        let other = pool.take(8192).0                 // another size misses
        #expect(other == nil)
    }

    @Test func limitBoundsTheCachedBytes() {
        let blocks = Blocks()
        var pool = TensorMemoryCache.BlockPool()
        pool.limit = 10_000
        _ = pool.take(8192); _ = pool.take(8192)
        let first = pool.put(blocks.make(), size: 8192)
        let second = pool.put(blocks.make(), size: 8192)  // 16384 > 10000: the caller frees it
        #expect(first && !second)
        #expect(pool.cachedBytes == 8192)
        pool.limit = 0
        _ = pool.take(4096)
        let third = pool.put(blocks.make(), size: 4096)
        #expect(!third)
    }

    @Test func missEvictsLeastRecentlyFreedBeyondTheHighWaterMark() {
        let blocks = Blocks()
        var pool = TensorMemoryCache.BlockPool()
        // Live 3 × 40 KiB at the peak (120 KiB), then all three freed: oldest first.
        let sizes = [40960, 40960 + 4096, 40960 + 8192]
        for size in sizes { _ = pool.take(size) }
        let freed = sizes.map { _ in blocks.make() }
        for (block, size) in zip(freed, sizes) {
            let kept = pool.put(block, size: size)
            #expect(kept)
        }
        #expect(pool.peakLiveBytes == sizes.reduce(0, +))
        // An 80 KiB miss: live 80 KiB + cached 132 KiB exceeds 1.5 × 132 KiB, so the oldest
        // (the first freed) goes, and only it.
        let (hit, evicted) = pool.take(81920)
        #expect(hit == nil)
        #expect(evicted.map(\.pointer) == [freed[0].pointer])
        #expect(pool.cachedBytes == sizes[1] + sizes[2])
        let reused = pool.take(sizes[2]).0
        #expect(reused?.pointer == freed[2].pointer)
    }

    @Test func tensorsStillHoldTheirValuesWhenBuffersAreReused() {
        // Large enough to be cached; each generation must read back exactly what it wrote.
        for generation in 0..<4 {
            let t = Tensor(repeating: Double(generation), shape: [256, 256], dtype: .float32)
            let u = t + 1
            #expect(u.scalars(as: Float.self).allSatisfy { $0 == Float(generation + 1) })
        }
        #expect(TensorMemoryCache.minimumBlockBytes <= 256 * 256 * 4)
    }
}
