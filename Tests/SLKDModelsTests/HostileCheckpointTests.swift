import Foundation
import Testing
import SLKDModels

/// The issue's hostile `.pth` files, generated here: each ends in a specific ``CheckpointError``
/// (or loads correctly) without a trap and without memory or time out of proportion to its size.
@Suite("PyTorch checkpoints: hostile files")
struct HostileCheckpointTests {
    @Test func aZeroBeforeOverflowingSizesIsATypedError() throws {
        let file = PickleWriter.checkpoint([("w", [0, 1 << 40, 1 << 40], [1, 1, 1], 0)], count: 1)
        #expect(file.count < 1024)
        #expect(throws: CheckpointError.invalidTensor("size [0, 1099511627776, 1099511627776] has too many elements")) {
            _ = try PyTorchCheckpoint(bytes: file)
        }
        // A genuinely empty tensor still loads.
        let empty = PickleWriter.checkpoint([("e", [0, 3], [3, 1], 0)], count: 1)
        #expect(try PyTorchCheckpoint(bytes: empty).stateDict()["e"]?.shape == [0, 3])
    }

    /// Each view is the largest broadcast accepted (2^24 elements, 64 MiB as float32) of one
    /// float; a few KB of them once became gigabytes.
    static let broadcastViews = (0..<40).map { (name: "v\($0)", size: [1 << 24], stride: [0], offset: 0) }

    @Test func strideZeroViewsStopAtTheReadBudget() throws {
        let file = PickleWriter.checkpoint(Self.broadcastViews, count: 1)
        #expect(file.count < 8192)
        let checkpoint = try PyTorchCheckpoint(bytes: file)
        // 256 MiB holds four 64 MiB views; the fifth is refused.
        let expected = ReadBudgetExceeded(resource: .bytes, what: "tensor of storage '0' (size [16777216])",
                                          requested: 5 << 26, limit: 256 << 20)
        #expect(throws: CheckpointError.budgetExceeded(expected)) { _ = try checkpoint.stateDict() }
    }

    @Test func anExplicitMaximumReplacesTheDerivedBudget() throws {
        let file = PickleWriter.checkpoint([("a", [4], [1], 0), ("b", [4], [1], 0)], count: 4)
        #expect(try PyTorchCheckpoint(bytes: file, options: .init(maximumBytes: 32)).stateDict().count == 2)
        let expected = ReadBudgetExceeded(resource: .bytes, what: "tensor of storage '0' (size [4])", requested: 32, limit: 31)
        #expect(throws: CheckpointError.budgetExceeded(expected)) {
            _ = try PyTorchCheckpoint(bytes: file, options: .init(maximumBytes: 31)).stateDict()
        }
    }

    @Test func aSharedStorageIsChecksummedOncePerFileNotPerView() throws {
        // 2,000 one-element views of a 4 MiB storage: a CRC per view is 8 GB of checksumming.
        let count = 1 << 20
        let views = (0..<2000).map { (name: "v\($0)", size: [1], stride: [1], offset: $0 * 500) }
        let file = PickleWriter.checkpoint(views, count: count, checksums: true)
        let clock = ContinuousClock()
        let start = clock.now
        let state = try PyTorchCheckpoint(bytes: file).stateDict()
        let elapsed = clock.now - start
        #expect(state.count == 2000 && state["v1999"]?.floats == [0])
        #expect(elapsed < .seconds(20), "took \(elapsed)")
    }

    static func load(pickle: [UInt8]) throws -> PyTorchCheckpoint {
        try PyTorchCheckpoint(bytes: StoredZipWriter.archive([("a/data.pkl", pickle)]), options: .init(verifyChecksums: false))
    }

    @Test func aStackOfOneByteOpcodesStopsAtTheStackLimit() {
        let pickle: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x4E, count: (1 << 20) + 10) + [0x2E]  // NONE × n
        let expected = ReadBudgetExceeded(resource: .stack, what: "pickle opcode at byte \(2 + (1 << 20))",
                                          requested: (1 << 20) + 1, limit: 1 << 20)
        #expect(throws: CheckpointError.budgetExceeded(expected)) { _ = try Self.load(pickle: pickle) }
    }

    @Test func marksCountAgainstTheStackLimitToo() {
        let pickle: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: (1 << 20) + 10) + [0x2E]  // MARK × n
        #expect(throws: CheckpointError.self) { _ = try Self.load(pickle: pickle) }
        do { _ = try Self.load(pickle: pickle) } catch let CheckpointError.budgetExceeded(e) {
            #expect(e.resource == .stack && e.limit == 1 << 20)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func memoEntriesStopAtTheMemoLimit() {
        // NONE, then MEMOIZE over and over: each adds an entry.
        let pickle: [UInt8] = [0x80, 0x04, 0x4E] + [UInt8](repeating: 0x94, count: (1 << 20) + 10) + [0x2E]
        let expected = ReadBudgetExceeded(resource: .memo, what: "MEMOIZE at byte \(3 + (1 << 20))",
                                          requested: (1 << 20) + 1, limit: 1 << 20)
        #expect(throws: CheckpointError.budgetExceeded(expected)) { _ = try Self.load(pickle: pickle) }
    }

    @Test func containersStopAtTheObjectLimit() {
        // EMPTY_LIST, POP over and over: each makes a list.
        var pickle: [UInt8] = [0x80, 0x02]
        for _ in 0..<((1 << 20) + 10) { pickle += [0x5D, 0x30] }
        pickle.append(0x2E)
        let expected = ReadBudgetExceeded(resource: .objects, what: "pickle opcode at byte \(2 + 2 * (1 << 20))",
                                          requested: (1 << 20) + 1, limit: 1 << 20)
        #expect(throws: CheckpointError.budgetExceeded(expected)) { _ = try Self.load(pickle: pickle) }
    }

    @Test func rebuildingOneMemoisedStateRepeatedlyIsCharged() {
        // d = {}; s = {"1000": None, …, "1999": None}; then BUILD d with s, 20,000 times: 20 million attributes.
        var pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x7D, 0x28]  // EMPTY_DICT (d), EMPTY_DICT (s), MARK
        for i in 0..<1000 { pickle += [0x8C, 4] + Array(String(1000 + i).utf8) + [0x4E] }  // "1000"…, NONE
        pickle += [0x75, 0x71, 1, 0x30]  // SETITEMS, BINPUT 1, POP (d is on top again)
        for _ in 0..<20_000 { pickle += [0x68, 1, 0x62] }  // BINGET 1, BUILD
        pickle.append(0x2E)
        #expect(throws: CheckpointError.self) { _ = try Self.load(pickle: pickle) }
        do { _ = try Self.load(pickle: pickle) } catch let CheckpointError.budgetExceeded(e) {
            #expect(e.resource == .objects)
        } catch { Issue.record("unexpected \(error)") }
    }
}
