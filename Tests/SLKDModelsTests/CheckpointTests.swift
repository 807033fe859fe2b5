import Foundation
import Testing
import SLKDModels

/// The checkpoint reader against small files written by `torch.save` and hostile files assembled
/// by hand (Scripts/torchref/pth_fixtures.py); expected values come from PyTorch.
@Suite("PyTorch checkpoints: fixtures")
struct CheckpointFixtureTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Vectors/checkpoints")
    static let expected: Expected = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    struct Expected: Decodable {
        let dtypes: TensorSet
        let modelA: TensorSet
        let modelB: TensorSet
        let uformer: UformerStyle
        let hostile: [String: Hostile]
        enum CodingKeys: String, CodingKey {
            case dtypes = "dtypes.pth", modelA = "model_a", modelB = "model_b", uformer = "uformer_style.pth", hostile
        }
    }
    struct TensorSet: Decodable {
        let keys: [String]
        let tensors: [String: ExpectedTensor]
        let metadata_prefixes: [String]?
        let views: [String: View]?
    }
    struct ExpectedTensor: Decodable { let dtype: String; let shape: [Int]; let values: [Double] }
    struct View: Decodable { let storage_offset: Int; let stride: [Int] }
    struct UformerStyle: Decodable { let file_keys: [String]; let epoch: Int; let lr: Double; let optimizer_state_count: Int }
    struct Hostile: Decodable {
        let error: String
        let global: String?, opcode: Int?, index: Int?, needed: Int?, available: Int?, method: Int?
    }

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// Keys in order, dtypes, shapes and exact values (float16/bfloat16 widen exactly to float32).
    func expectMatches(_ state: StateDict, _ set: TensorSet) {
        #expect(state.keys == set.keys)
        for key in set.keys {
            guard let tensor = state[key], let want = set.tensors[key] else {
                Issue.record("missing tensor '\(key)'")
                continue
            }
            #expect(tensor.dtype.rawValue == want.dtype, "dtype of \(key)")
            #expect(tensor.shape == want.shape, "shape of \(key)")
            #expect(tensor.doubles == want.values, "values of \(key)")
        }
    }

    @Test func everyStorageTypeAndViewLoads() throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Self.url("dtypes.pth"))
        let state = try checkpoint.stateDict()
        #expect(state.sourceEntry == nil)  // a plain dict of tensors is taken as the state dict
        expectMatches(state, Self.expected.dtypes)
        #expect(state["i64"]!.integers == [-3, 0, 1 << 40, -(1 << 62)])
        #expect(state["f16"]!.floats[3] == 0x1p-24)  // float16 subnormal 6e-8
        #expect(state["f16"]!.floats[4].sign == .minus)

        // The views keep PyTorch's offset and strides; `slice` shares `base`'s storage.
        let top = try #require(checkpoint.root.dictionary)
        #expect(!top.isOrdered)
        for (key, view) in Self.expected.dtypes.views! {
            let stored = try #require(top[key]?.storedTensor)
            #expect(stored.storageOffset == view.storage_offset, "offset of \(key)")
            #expect(stored.strides == view.stride, "stride of \(key)")
        }
        #expect(top["slice"]?.storedTensor?.storageKey == top["base"]?.storedTensor?.storageKey)
        #expect(top["transposed"]?.storedTensor?.storageType == .double)
    }

    @Test func basicSRParams() throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Self.url("basicsr_params.pth"))
        let state = try checkpoint.stateDict()
        #expect(state.sourceEntry == "params")
        expectMatches(state, Self.expected.modelA)
        // state_dict()'s `_metadata`, set by BUILD on the OrderedDict.
        let params = try #require(checkpoint.root["params"]?.dictionary)
        #expect(params.isOrdered)
        let metadata = try #require(params.attribute("_metadata")?.dictionary)
        #expect(metadata.stringKeys == Self.expected.modelA.metadata_prefixes)
        #expect(metadata["0"]?["version"]?.intValue == 1)
    }

    @Test func basicSREMAOnly() throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Self.url("basicsr_ema.pth"))
        let state = try checkpoint.stateDict()
        #expect(state.sourceEntry == "params_ema")
        expectMatches(state, Self.expected.modelA)
        #expect(throws: CheckpointError.missingEntry("params", available: ["params_ema"])) {
            try checkpoint.stateDict(.entry("params"))
        }
    }

    @Test func basicSRBothEntriesCanBeChosen() throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Self.url("basicsr_both.pth"))
        expectMatches(try checkpoint.stateDict(), Self.expected.modelA)
        expectMatches(try checkpoint.stateDict(.entry("params_ema")), Self.expected.modelB)
        #expect(throws: CheckpointError.self) { try checkpoint.stateDict(.root) }
    }

    @Test func uformerTrainingFile() throws {
        let url = Self.url("uformer_style.pth")
        let checkpoint = try PyTorchCheckpoint(contentsOf: url)
        let state = try checkpoint.stateDict()
        #expect(state.sourceEntry == "state_dict")
        expectMatches(state, Self.expected.modelA)  // `module.` stripped
        #expect(try checkpoint.stateDict(strippingPrefix: nil).keys == Self.expected.uformer.file_keys)
        #expect(Set(try PyTorchCheckpoint.load(from: url).keys) == Set(Self.expected.modelA.keys))

        // The other entries stay readable: epoch and the Adam state.
        #expect(checkpoint.root["epoch"]?.intValue == Self.expected.uformer.epoch)
        let optimizer = try #require(checkpoint.root["optimizer"]?.dictionary)
        let group = try #require(optimizer["param_groups"]?.elements?.first)
        #expect(group["lr"]?.doubleValue == Self.expected.uformer.lr)
        #expect(group["betas"]?.elements?.compactMap(\.doubleValue) == [0.9, 0.999])
        #expect(group["amsgrad"] == .bool(false))
        let states = try #require(optimizer["state"]?.dictionary)
        #expect(states.items.count == Self.expected.uformer.optimizer_state_count)
        let first = try #require(states.items.first)
        #expect(first.key == .int(0))
        let step = try checkpoint.tensor(try #require(first.value["step"]?.storedTensor))
        #expect(step.shape == [] && step.item == 1)
        let average = try checkpoint.tensor(try #require(first.value["exp_avg"]?.storedTensor))
        #expect(average.shape == state["0.weight"]!.shape)
    }

    static let hostileNames = expected.hostile.keys.sorted()

    @Test(arguments: hostileNames)
    func hostileFileFailsWithTypedError(name: String) throws {
        let want = Self.expected.hostile[name]!
        do {
            _ = try PyTorchCheckpoint(contentsOf: Self.url(name)).stateDict()
            Issue.record("\(name) loaded without error")
        } catch let error as CheckpointError {
            #expect(Self.caseName(error) == want.error, "\(name): \(error)")
            switch error {
            case let .forbiddenGlobal(module, global, _): #expect("\(module).\(global)" == want.global)
            case let .unknownOpcode(opcode, _): #expect(Int(opcode) == want.opcode)
            case let .memoMiss(index, _): #expect(index == want.index)
            case let .storageTooSmall(_, needed, available):
                #expect(needed == want.needed && available == want.available)
            case let .compressedEntry(_, method): #expect(method == want.method)
            default: break
            }
            #expect(!error.description.isEmpty)
        }
    }

    static func caseName(_ error: CheckpointError) -> String {
        String(String(describing: Mirror(reflecting: error).children.first?.label ?? "\(error)").prefix { $0 != "(" })
    }

    // MARK: - Corrupted bytes never crash

    @Test func everyTruncationIsATypedError() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.url("basicsr_params.pth")))
        for length in 0..<bytes.count {
            #expect(throws: CheckpointError.self, "prefix of \(length) bytes") {
                _ = try PyTorchCheckpoint(bytes: Array(bytes[..<length])).stateDict()
            }
        }
    }

    @Test func everyTruncatedPickleIsATypedError() throws {
        // Re-pack the real pickle cut at every length (with its storages) into a fresh archive.
        let original = try [UInt8](Data(contentsOf: Self.url("basicsr_params.pth")))
        let records = StoredZipWriter.entries(of: original)
        let pickle = try #require(records.first { $0.name.hasSuffix("/data.pkl") })
        let whole = StoredZipWriter.archive(records)
        #expect(try PyTorchCheckpoint(bytes: whole, options: .init(verifyChecksums: false)).stateDict().count == 5)
        for length in 0..<pickle.bytes.count {
            let cut = records.map { $0.name == pickle.name ? (name: $0.name, bytes: Array($0.bytes[..<length])) : $0 }
            #expect(throws: CheckpointError.self, "pickle cut at \(length)") {
                _ = try PyTorchCheckpoint(bytes: StoredZipWriter.archive(cut), options: .init(verifyChecksums: false))
            }
        }
    }

    @Test func flippedBytesNeverCrash() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.url("dtypes.pth")))
        var (loaded, refused) = (0, 0)
        for position in bytes.indices {
            for value: UInt8 in [0xFF, bytes[position] ^ 0x01] where value != bytes[position] {
                var corrupt = bytes
                corrupt[position] = value
                // Each input loads a state dict whose tensors match their descriptions, or fails
                // with a CheckpointError; any other error type is a failure of this test.
                do {
                    let state = try PyTorchCheckpoint(bytes: corrupt, options: .init(verifyChecksums: false)).stateDict(.root)
                    for key in state.keys {
                        let tensor = try #require(state[key])
                        #expect(tensor.count == tensor.shape.reduce(1, *), "byte \(position): \(key)")
                    }
                    loaded += 1
                } catch let error as CheckpointError {
                    #expect(!error.description.contains("\n"), "byte \(position): \(error)")
                    refused += 1
                } catch {
                    Issue.record("byte \(position) set to \(value): \(type(of: error)) is not a CheckpointError: \(error)")
                }
            }
        }
        #expect(loaded > 0 && refused > 0, "flips reach both outcomes (\(loaded) loaded, \(refused) refused)")
    }

    @Test func checksumsCatchFlippedStorageBytes() throws {
        var bytes = try [UInt8](Data(contentsOf: Self.url("basicsr_params.pth")))
        let records = StoredZipWriter.entries(of: bytes)
        let storage = try #require(records.first { $0.name.hasSuffix("/data/0") })
        let start = try #require(StoredZipWriter.dataOffset(of: storage.name, in: bytes))
        bytes[start] ^= 0x40
        #expect(throws: CheckpointError.checksumMismatch(name: storage.name)) {
            _ = try PyTorchCheckpoint(bytes: bytes).stateDict()
        }
        // Without verification the flipped value loads (the flip is in the data, not the structure).
        #expect(try PyTorchCheckpoint(bytes: bytes, options: .init(verifyChecksums: false)).stateDict().count == 5)
    }

    // MARK: - Pickle bombs

    static func load(pickle: [UInt8]) throws -> PyTorchCheckpoint {
        try PyTorchCheckpoint(bytes: StoredZipWriter.archive([("a/data.pkl", pickle)]),
                              options: .init(verifyChecksums: false))
    }

    @Test func deepNestingIsRejectedWithoutRecursionCrash() {
        let depth = 100_000
        let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: depth)   // EMPTY_LIST × n
            + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E]                       // APPEND × n-1, STOP
        #expect(throws: CheckpointError.self) { try Self.load(pickle: lists) }
        let tuples: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: depth) + [0x2E]  // ((((),),),)…
        #expect(throws: CheckpointError.self) { try Self.load(pickle: tuples) }
    }

    @Test func selfReferenceAndSharingBombsAreRejected() throws {
        // l = []; l.append(l)
        #expect(throws: CheckpointError.self) { try Self.load(pickle: [0x80, 0x02, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]) }
        // x = (x, x) sixty times: 2^60 nodes when expanded.
        var bomb: [UInt8] = [0x80, 0x02, 0x4E, 0x71, 0]
        for _ in 0..<60 { bomb += [0x68, 0, 0x68, 0, 0x86, 0x71, 0] }
        #expect(throws: CheckpointError.self) { try Self.load(pickle: bomb + [0x2E]) }
        // Modest sharing is fine: (None, None) twice.
        let fine = try Self.load(pickle: [0x80, 0x02, 0x4E, 0x71, 0, 0x68, 0, 0x68, 0, 0x86, 0x71, 0, 0x68, 0, 0x68, 0, 0x86, 0x2E])
        #expect(fine.root == .tuple([.tuple([.none, .none]), .tuple([.none, .none])]))
    }

    @Test func missingFileIsATypedError() {
        #expect(throws: CheckpointError.self) {
            try PyTorchCheckpoint.load(from: URL(fileURLWithPath: "/nonexistent/weights.pth"))
        }
    }
}

/// A minimal writer of stored zip archives (CRC fields left 0), for re-packing test pickles.
enum StoredZipWriter {
    /// (name, bytes) of every entry of a stored zip, read through the central directory.
    static func entries(of zip: [UInt8]) -> [(name: String, bytes: [UInt8])] {
        func u16(_ i: Int) -> Int { Int(zip[i]) | Int(zip[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        var end = zip.count - 22
        while u32(end) != 0x0605_4B50 { end -= 1 }
        var cursor = u32(end + 16)
        var result: [(String, [UInt8])] = []
        for _ in 0..<u16(end + 10) {
            let size = u32(cursor + 24), nameLength = u16(cursor + 28)
            let name = String(decoding: zip[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self)
            let local = u32(cursor + 42)
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            result.append((name, Array(zip[start..<(start + size)])))
            cursor += 46 + nameLength + u16(cursor + 30) + u16(cursor + 32)
        }
        return result
    }

    static func dataOffset(of name: String, in zip: [UInt8]) -> Int? {
        func u16(_ i: Int) -> Int { Int(zip[i]) | Int(zip[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        var end = zip.count - 22
        while u32(end) != 0x0605_4B50 { end -= 1 }
        var cursor = u32(end + 16)
        for _ in 0..<u16(end + 10) {
            let nameLength = u16(cursor + 28)
            let local = u32(cursor + 42)
            if String(decoding: zip[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self) == name {
                return local + 30 + u16(local + 26) + u16(local + 28)
            }
            cursor += 46 + nameLength + u16(cursor + 30) + u16(cursor + 32)
        }
        return nil
    }

    /// A stored zip of `entries`; their CRC-32 fields are 0 unless `checksums` is set.
    static func archive(_ entries: [(name: String, bytes: [UInt8])], checksums: Bool = false) -> [UInt8] {
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var out: [UInt8] = [], directory: [UInt8] = []
        for (name, bytes) in entries {
            let n = Array(name.utf8)
            let crc = checksums ? Int(CRC32.checksum(bytes[...])) : 0
            let header = le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(crc, 4) + le(bytes.count, 4) + le(bytes.count, 4)
                + le(n.count, 2) + le(0, 2)
            directory += le(0x0201_4B50, 4) + le(20, 2) + header + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4)
                + le(out.count, 4) + n
            out += le(0x0403_4B50, 4) + header + n + bytes
        }
        let directoryOffset = out.count
        out += directory
        out += le(0x0605_4B50, 4) + le(0, 4) + le(entries.count, 2) + le(entries.count, 2)
            + le(directory.count, 4) + le(directoryOffset, 4) + le(0, 2)
        return out
    }
}
