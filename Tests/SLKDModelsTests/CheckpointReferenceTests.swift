import Foundation
import Testing
import SLKDModels

/// The three official-format checkpoints of the reference folder (models/checkpoints) against the
/// golden safetensors holding the same weights.
@Suite("PyTorch checkpoints: official-format reference files")
struct CheckpointReferenceTests {
    static let models = SharedReference.url("models")
    static let checkpoints = SharedReference.url("models/checkpoints")

    struct Case: Sendable, CustomStringConvertible {
        let file: String, golden: String, officialKeys: String, entry: String, count: Int
        var description: String { file }
    }

    static let cases = [
        Case(file: "restormer_tiny_withbias.pth", golden: "restormer_tiny_withbias", officialKeys: "restormer",
             entry: "params", count: 98),
        Case(file: "restormer_tiny_withbias_ema.pth", golden: "restormer_tiny_withbias", officialKeys: "restormer",
             entry: "params_ema", count: 98),
        Case(file: "uformer_tiny_train.pth", golden: "uformer_tiny", officialKeys: "uformer_b",
             entry: "state_dict", count: 241),
    ]

    @Test(arguments: cases)
    func checkpointEqualsGoldenWeights(_ c: Case) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Self.checkpoints.appendingPathComponent(c.file))
        let state = try checkpoint.stateDict()
        #expect(state.sourceEntry == c.entry)
        #expect(state.count == c.count)

        let golden = try SafeTensors.read(from: Self.models.appendingPathComponent("golden/\(c.golden).safetensors"))
        let goldenKeys = Set(golden.names.filter { $0.hasPrefix("weight/") }.map { String($0.dropFirst(7)) })
        #expect(Set(state.keys) == goldenKeys)
        for key in state.keys {
            let tensor = try #require(state[key])
            let want = try #require(golden.tensors["weight/\(key)"])
            #expect(tensor.shape == want.shape, "shape of \(key)")
            #expect(tensor.dtype == want.dtype, "dtype of \(key)")
            switch want.dtype {
            case .float32: #expect(tensor.floats.map(\.bitPattern) == want.floats.map(\.bitPattern), "values of \(key)")
            case .int64: #expect(tensor.integers == want.integers, "values of \(key)")
            case .float64: Issue.record("unexpected golden dtype float64 for \(key)")
            }
        }

        // Official order: the tiny models' keys appear in the same relative order as in the full
        // model's state_dict listing (keys/*.txt). Uformer's extra second blocks (absent from
        // Uformer-B's level 0 and decoder level 3) must follow their first block.
        let official = try String(contentsOf: Self.models.appendingPathComponent("keys/\(c.officialKeys).txt"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.split(separator: "\t")[0]) }
        let rank = Dictionary(official.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let shared = state.keys.filter { rank[$0] != nil }
        #expect(shared == shared.sorted { rank[$0]! < rank[$1]! })
        for (i, key) in state.keys.enumerated() where rank[key] == nil {
            #expect(key.contains(".blocks.1."), "\(key) is not in the official listing")
            let firstBlock = key.replacingOccurrences(of: ".blocks.1.", with: ".blocks.0.")
            #expect((state.keys.firstIndex(of: firstBlock) ?? .max) < i, "\(key) precedes its block 0")
        }
    }

    /// Uformer's training file: epoch, and the Adam state after one step from the golden gradients:
    /// exp_avg = 0.1·(g + 0.02·p), exp_avg_sq = 0.001·(g + 0.02·p)², step = 1 (README of checkpoints/).
    @Test func uformerOptimizerState() throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Self.checkpoints.appendingPathComponent("uformer_tiny_train.pth"))
        #expect(checkpoint.root["epoch"]?.intValue == 3)
        let prefixed = try checkpoint.stateDict(strippingPrefix: nil)
        #expect(prefixed.keys.allSatisfy { $0.hasPrefix("module.") })
        #expect(prefixed.keys.first == "module.input_proj.proj.0.weight")

        let optimizer = try #require(checkpoint.root["optimizer"]?.dictionary)
        let group = try #require(optimizer["param_groups"]?.elements?.first)
        #expect(group["lr"]?.doubleValue == 2e-4)
        #expect(group["weight_decay"]?.doubleValue == 0.02)
        #expect(group["eps"]?.doubleValue == 1e-8)
        #expect(group["foreach"] == PickleValue.none)
        #expect(group["params"]?.elements?.compactMap(\.intValue) == Array(0..<229))

        let golden = try SafeTensors.read(from: Self.models.appendingPathComponent("golden/uformer_tiny.safetensors"))
        let parameters = try checkpoint.stateDict().keys.filter { golden.tensors["grad/\($0)"] != nil }
        #expect(parameters.count == 229)
        let states = try #require(optimizer["state"]?.dictionary)
        #expect(states.items.count == 229)
        var worst = 0.0
        for (i, name) in parameters.enumerated() {
            let entry = try #require(states.items.first { $0.key == .int(i) }?.value)
            let step = try checkpoint.tensor(try #require(entry["step"]?.storedTensor))
            #expect(step.shape == [] && step.item == 1)
            let g = golden.tensors["grad/\(name)"]!.floats
            let p = golden.tensors["weight/\(name)"]!.floats
            let average = try checkpoint.tensor(try #require(entry["exp_avg"]?.storedTensor)).doubles
            let square = try checkpoint.tensor(try #require(entry["exp_avg_sq"]?.storedTensor)).doubles
            // Relative to each tensor's largest entry: Adam's float32 lerp/addcmul round each element,
            // and elements where g ≈ −0.02·p lose all their relative digits to cancellation.
            let d = g.indices.map { Double(g[$0]) + 0.02 * Double(p[$0]) }
            let averageScale = d.map { abs(0.1 * $0) }.max()!, squareScale = d.map { 0.001 * $0 * $0 }.max()!
            for j in d.indices {
                worst = max(worst, abs(average[j] - 0.1 * d[j]) / averageScale,
                            abs(square[j] - 0.001 * d[j] * d[j]) / squareScale)
            }
        }
        #expect(worst < 1e-6, "worst relative error \(worst)")
    }
}
