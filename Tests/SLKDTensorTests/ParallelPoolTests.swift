import Dispatch
import Foundation
import Testing
import SLKDTensor

/// `Parallel.forChunks` runs on SLKD's own worker pool (CSLKDKernels' Pool.c): every index must
/// run exactly once and be finished when the call returns, across many back-to-back regions
/// (the hand-off between regions is where a pool goes wrong), with idle workers asleep, with
/// several threads submitting at once (all but one fall back to libdispatch), and when a chunk
/// opens a region of its own.
@Suite("Parallel pool")
struct ParallelPoolTests {
    /// Runs `regions` regions of `count` indices, each adding its region number to its slots, and
    /// returns the slots: every slot must hold the sum of all region numbers.
    static func runRegions(count: Int, regions: Int, slowChunk: Bool = false) -> [Int] {
        var slots = [Int](repeating: 0, count: count)
        slots.withUnsafeMutableBufferPointer { buffer in
            let slots = UncheckedBox(buffer)
            for region in 1...regions {
                Parallel.forChunks(count) { range in
                    // A slow first chunk: the caller must still wait for the others, and they for it.
                    if slowChunk, range.lowerBound == 0 { usleep(2_000) }
                    for i in range { slots.value[i] += region }
                }
            }
        }
        return slots
    }

    @Test(arguments: [2, 3, 7, 64, 1_000, 100_003])
    func everyIndexRunsOnceInEveryRegion(count: Int) {
        let regions = 400
        let slots = Self.runRegions(count: count, regions: regions)
        let expected = regions * (regions + 1) / 2
        #expect(slots.allSatisfy { $0 == expected }, "count \(count): \(slots.filter { $0 != expected }.count) wrong")
    }

    /// Chunks per thread: `0..<count` is cut into min(count / grain, threads × chunks per thread)
    /// equal chunks (the last one shorter), each run once, whatever the timing.
    @Test(arguments: [(1_000, 1, nil), (1_000, 100, nil), (1_000, 1, 1), (1_000, 1, 3), (10, 4, 8), (100_003, 7, nil)] as [(Int, Int, Int?)])
    func chunksFollowGrainAndChunksPerThread(count: Int, grain: Int, perThread: Int?) {
        let lock = NSLock()
        var ranges: [Range<Int>] = []
        Parallel.forChunks(count, grain: grain, chunksPerThread: perThread) { range in
            lock.withLock { ranges.append(range) }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        let workers = min(Parallel.threadCount, max(1, count / grain))
        let expected = workers <= 1 ? 1 : min(max(1, count / grain), workers * (perThread ?? Parallel.chunksPerThread))
        #expect(ranges.count == expected, "\(ranges.count) chunks, expected \(expected)")
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        let size = (count + expected - 1) / expected
        #expect(ranges.dropLast().allSatisfy { $0.count == size })
    }

    @Test func aSlowChunkIsFinishedBeforeTheCallReturns() {
        let slots = Self.runRegions(count: 64, regions: 20, slowChunk: true)
        #expect(slots.allSatisfy { $0 == 20 * 21 / 2 })
    }

    /// With no spinning, every region wakes sleeping workers through the futex.
    @Test func sleepingWorkersWakeForEachRegion() {
        let previous = Parallel.idleSpinMicroseconds
        Parallel.idleSpinMicroseconds = 0
        defer { Parallel.idleSpinMicroseconds = previous }
        #expect(Parallel.idleSpinMicroseconds == 0)
        for round in 1...50 {
            let slots = Self.runRegions(count: 257, regions: 1)
            #expect(slots.allSatisfy { $0 == 1 }, "round \(round)")
            usleep(200)  // long enough for the workers to go to sleep
        }
    }

    /// Threads that submit regions at the same time: the pool takes one region at a time and the
    /// others run on libdispatch; every result must still be complete.
    @Test func concurrentSubmittersAllComplete() {
        let submitters = 4, regions = 150, count = 999
        let results = UncheckedBox([[Int]](repeating: [], count: submitters))
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: submitters) { s in
            let slots = Self.runRegions(count: count, regions: regions)
            lock.withLock { results.value[s] = slots }
        }
        let expected = regions * (regions + 1) / 2
        for s in 0..<submitters {
            #expect(results.value[s].count == count && results.value[s].allSatisfy { $0 == expected }, "submitter \(s)")
        }
    }

    /// A region opened inside a chunk runs on that chunk's thread, whole.
    @Test func aRegionInsideAChunkRunsSerially() {
        let count = 16
        // Per outer index: the inner region's chunk count, whether it got the whole range, and
        // whether the chunk's thread was marked as inside a region (no #expect off the test's task).
        var seen = [(calls: Int, whole: Bool, marked: Bool)](repeating: (0, false, false), count: count)
        seen.withUnsafeMutableBufferPointer { buffer in
            let seen = UncheckedBox(buffer)
            Parallel.forChunks(count) { outer in
                for i in outer {
                    var calls = 0, whole = true
                    Parallel.forChunks(100) { range in
                        calls += 1
                        whole = whole && range == 0..<100
                    }
                    seen.value[i] = (calls, whole, Parallel.isInsideRegion)
                }
            }
        }
        #expect(seen.allSatisfy { $0.calls == 1 && $0.whole })
        #expect(seen.allSatisfy { $0.marked } || Parallel.threadCount == 1)
        #expect(!Parallel.isInsideRegion)
    }
}

/// A value shared with chunks that write disjoint parts of it.
private final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
