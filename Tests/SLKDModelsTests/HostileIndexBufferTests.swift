import Foundation
import Testing
import SLKDModels

/// Uformer's `relative_position_index` is a buffer a checkpoint supplies and the forward indexes
/// the bias table with. A file whose index points past the table, or that stores it as floats
/// that are not integers (NaN, 1e30, 0.5), must be refused at load with a typed error that names
/// the key, leaving the model as it was, instead of trapping then or in the forward.
@Suite("Checkpoints: hostile index buffers")
struct HostileIndexBufferTests {
    static let key = "encoderlayer_0.blocks.0.attn.relative_position_index"

    static func tinyUformer() throws -> Uformer {
        var g = RandomGenerator(seed: 5)
        return try Uformer(Uformer.Configuration(imgSize: 64, embedDim: 4, depths: [2, 2, 2, 2, 2, 2, 2, 2, 2]), using: &g)
    }

    /// The model's state with `key`'s index replaced by `index`, through a safetensors file.
    static func load(replacing index: Tensor, into model: Uformer) throws {
        var state = model.stateDictionary()
        state[key] = index
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-index-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(state, to: url)
        try ModelWeights.load(from: url, into: model)
    }

    @Test func anIndexPastTheTableIsRefusedByName() throws {
        let model = try Self.tinyUformer()
        let original = try #require(model.stateDictionary()[Self.key])
        var entries = original.integers
        // window 8: (2·8 − 1)² = 225 table rows.
        entries[37] = 225
        do {
            try Self.load(replacing: Tensor(shape: original.shape, indices: entries), into: model)
            Issue.record("an index past the table loaded")
        } catch let error as StateDictionaryError {
            #expect(error.invalidValues == [.init(key: Self.key, reason: "entry 37 is 225, outside the bias table's 225 rows")])
        }
        #expect(model.stateDictionary()[Self.key]?.integers == original.integers)
        entries[37] = -1
        #expect(throws: StateDictionaryError.self) {
            try Self.load(replacing: Tensor(shape: original.shape, indices: entries), into: model)
        }
        // The model still runs on its own index.
        let y = withoutGradients { model(Tensor.zeros([1, 3, 64, 64])) }
        #expect(y.shape == [1, 3, 64, 64])
    }

    @Test(arguments: [Double.nan, 1e30, 0.5, -.infinity])
    func aFloatIndexThatIsNoIntegerIsRefused(bad: Double) throws {
        let model = try Self.tinyUformer()
        let original = try #require(model.stateDictionary()[Self.key])
        var values = original.integers.map(Double.init)
        values[3] = bad
        do {
            try Self.load(replacing: Tensor(shape: original.shape, scalars: values.map(Float.init)), into: model)
            Issue.record("a float index holding \(bad) loaded")
        } catch let error as StateDictionaryError {
            #expect(error.invalidValues.map(\.key) == [Self.key])
            #expect(error.description.contains("unusable values for \(Self.key): entry 3 is"))
        }
        #expect(model.stateDictionary()[Self.key]?.integers == original.integers)
    }

    @Test func aFloatIndexOfExactIntegersLoads() throws {
        let model = try Self.tinyUformer()
        let original = try #require(model.stateDictionary()[Self.key])
        try Self.load(replacing: Tensor(shape: original.shape, scalars: original.integers.map(Float.init)), into: model)
        #expect(model.stateDictionary()[Self.key]?.dtype == .int64)
        #expect(model.stateDictionary()[Self.key]?.integers == original.integers)
    }
}
