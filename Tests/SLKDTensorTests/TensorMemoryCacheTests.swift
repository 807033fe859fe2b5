import Testing
import SLKDTensor

/// The cache's bookkeeping (`TensorMemoryCache.BlockPool`), driven directly so that no other
/// test's tensors take part: hits by size, the limit, and which blocks a miss resizes and evicts.
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
        let first = pool.take(4096)                       // nothing cached yet: map fresh bytes
        #expect(first.block == nil && first.resizedFrom == nil && first.evicted.isEmpty)
        let a = blocks.make()
        let kept = pool.put(a, size: 4096)
        #expect(kept && pool.cachedBytes == 4096)
        let again = pool.take(4096).block
        #expect(again?.pointer == a.pointer)
        #expect(pool.cachedBytes == 0)
        _ = pool.put(a, size: 4096)
        // More than twice the size misses. Live 16 KiB + cached 4 KiB is within the new 16 KiB peak
        // plus its quarter (20 KiB): fresh bytes, and the cached block stays.
        let other = pool.take(16384)
        #expect(other.block == nil && other.evicted.isEmpty && pool.cachedBytes == 4096)
        let b = blocks.make()
        _ = pool.put(b, size: 16384)
        // A 32 KiB miss: live 32 KiB + cached 20 KiB is over the new peak plus its quarter
        // (40 KiB), so both cached blocks are given up, oldest first; the larger (16 KiB) is
        // resized for the request and the 4 KiB one freed.
        let grown = pool.take(32768)
        #expect(grown.block?.pointer == b.pointer && grown.resizedFrom == 16384 && grown.size == 32768)
        #expect(grown.evicted.map(\.block.pointer) == [a.pointer] && pool.cachedBytes == 0)
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

    @Test func missGivesUpLeastRecentlyFreedBeyondTheHighWaterMarkAndResizesTheLargest() {
        let blocks = Blocks()
        var pool = TensorMemoryCache.BlockPool()
        // Live 3 × 40 KiB at the peak (132 KiB), then all three freed: oldest first.
        let sizes = [40960, 40960 + 4096, 40960 + 8192]
        for size in sizes { _ = pool.take(size) }
        let freed = sizes.map { _ in blocks.make() }
        for (block, size) in zip(freed, sizes) {
            let kept = pool.put(block, size: size)
            #expect(kept)
        }
        #expect(pool.peakLiveBytes == 135168)
        // An 80 KiB miss (no cached block is 80 KiB or more): live 80 KiB + cached 132 KiB exceeds
        // the 132 KiB peak plus its quarter (165 KiB), so the oldest go until it does not: two
        // (80 + 48 = 128 KiB). The larger of the two (44 KiB) is resized to 80 KiB for the request;
        // the other is freed.
        let miss = pool.take(81920)
        #expect(miss.block?.pointer == freed[1].pointer && miss.resizedFrom == sizes[1] && miss.size == 81920)
        #expect(miss.evicted.map(\.block.pointer) == [freed[0].pointer] && miss.evicted.map(\.size) == [sizes[0]])
        #expect(pool.cachedBytes == sizes[2])
        #expect(pool.peakLiveBytes == 135168)
        let reused = pool.take(sizes[2]).block
        #expect(reused?.pointer == freed[2].pointer)
    }

    @Test func whileAGraphIsRecordedAMissKeepsHalfThePeakAgain() {
        let blocks = Blocks()
        var pool = TensorMemoryCache.BlockPool()
        let sizes = [40960, 40960 + 4096, 40960 + 8192]
        for size in sizes { _ = pool.take(size, keepingSlack: true) }
        let freed = sizes.map { _ in blocks.make() }
        for (block, size) in zip(freed, sizes) { _ = pool.put(block, size: size) }
        // The same 80 KiB miss as above: live 80 KiB + cached 132 KiB = 212 KiB against 1.5 × the
        // 132 KiB peak = 198 KiB, so only the oldest (40 KiB) goes, resized for the request: 172 KiB.
        let miss = pool.take(81920, keepingSlack: true)
        #expect(miss.block?.pointer == freed[0].pointer && miss.resizedFrom == sizes[0])
        #expect(miss.evicted.isEmpty)
        #expect(pool.cachedBytes == sizes[1] + sizes[2])
    }

    /// After a backward pass, a forward without a graph keeps the training allowance: the same
    /// miss as above with `keepingSlack: false` evicts only what the graph case evicts, where the
    /// tight bound (the peak plus a quarter of it) would give up the two oldest blocks.
    @Test func afterABackwardPassForwardsKeepTheTrainingAllowance() {
        func missAfterFreeing(trained: Bool) -> TensorMemoryCache.BlockPool.Taken {
            let blocks = Blocks()
            var pool = TensorMemoryCache.BlockPool()
            pool.hasTrained = trained
            let sizes = [40960, 40960 + 4096, 40960 + 8192]
            for size in sizes { _ = pool.take(size, keepingSlack: true) }
            for size in sizes { _ = pool.put(blocks.make(), size: size) }
            // Live 80 KiB + cached 132 KiB = 212 KiB: over 1.5 × 132 = 198 KiB by one block, over
            // 132 + 33 = 165 KiB by two.
            return pool.take(81920, keepingSlack: false)
        }
        let trained = missAfterFreeing(trained: true), untrained = missAfterFreeing(trained: false)
        #expect(trained.resizedFrom == 40960 && trained.evicted.isEmpty)
        #expect(untrained.resizedFrom == 40960 + 4096 && untrained.evicted.count == 1)
    }

    @Test func missTakesTheSmallestCachedBlockUpToTwiceItsSize() {
        let blocks = Blocks()
        var pool = TensorMemoryCache.BlockPool()
        let sizes = [8192, 12288, 20480]
        for size in sizes { _ = pool.take(size) }
        let freed = sizes.map { _ in blocks.make() }
        for (block, size) in zip(freed, sizes) { _ = pool.put(block, size: size) }
        // 8 KiB and 12 KiB fit a 6 KiB request; the smaller is taken and freed again with its size.
        let small = pool.take(6144)
        #expect(small.block?.pointer == freed[0].pointer && small.size == 8192)
        // 20 KiB is more than twice 9 KiB: the 12 KiB block serves it.
        let middle = pool.take(9216)
        #expect(middle.block?.pointer == freed[1].pointer && middle.size == 12288)
        // Only the 20 KiB block is left, over twice 8 KiB: a miss at the requested size. Live 28 KiB
        // + cached 20 KiB is within the 40 KiB peak plus its quarter (50 KiB): fresh bytes.
        let miss = pool.take(8192)
        #expect(miss.block == nil && miss.size == 8192 && miss.evicted.isEmpty)
        #expect(pool.cachedBytes == 20480)
        // One more 8 KiB: live 36 KiB + cached 20 KiB is over 50 KiB, so the 20 KiB block is given
        // up, shrunk to 8 KiB for the request.
        let shrunk = pool.take(8192)
        #expect(shrunk.block?.pointer == freed[2].pointer && shrunk.resizedFrom == 20480 && shrunk.size == 8192)
        #expect(shrunk.evicted.isEmpty && pool.cachedBytes == 0)
    }

    @Test func forwardAllowanceIsAQuarterOfThePeakUpToTheCap() {
        var pool = TensorMemoryCache.BlockPool()
        _ = pool.take(40 << 20)                               // a 40 MiB peak: a quarter is 10 MiB
        #expect(pool.allowedBytes(keepingSlack: false) == 50 << 20)
        #expect(pool.allowedBytes(keepingSlack: true) == 60 << 20)
        _ = pool.take(360 << 20)                              // 400 MiB: a quarter is over the cap
        #expect(pool.allowedBytes(keepingSlack: false) == (400 << 20) + TensorMemoryCache.forwardSlackCapBytes)
        #expect(TensorMemoryCache.forwardSlackCapBytes == 64 << 20)
        #expect(pool.allowedBytes(keepingSlack: true) == 600 << 20)
    }

    @Test func mallocThresholdIsFixedOnGlibc() {
        #if canImport(Glibc)
        #expect(TensorMemoryCache.fixesMallocThreshold)
        #endif
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

    @Test func tensorsHoldTheirValuesWhenBlocksAreResized() {
        // Without a graph the cache stays within the live peak, so sizes that keep missing (each
        // over twice the last, then under half of it) get resized blocks, grown and shrunk.
        withoutGradients {
            let counts = [40_000, 90_000, 200_000, 450_000, 100_000, 35_000, 300_000, 33_000]
            for (generation, count) in counts.enumerated() {
                let t = Tensor(repeating: Double(generation), shape: [count], dtype: .float32)
                let u = t * 2 + 1
                let expected = Float(2 * generation + 1)
                #expect(u.scalars(as: Float.self).allSatisfy { $0 == expected }, "generation \(generation)")
            }
        }
    }
}
