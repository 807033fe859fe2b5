import Foundation

/// The non-tensor part of a training checkpoint, stored as JSON in the safetensors metadata
/// under `slkd.training`.
///
/// Format 2 (written now) draws each sample's augmentation from a seed of its own, so that a run
/// can be split over processes (``DataShard``). Format 1 checkpoints still resume: their weights,
/// optimizer, schedule, generators, epoch order and position carry over unchanged, and the
/// crops after the resume are drawn by the format-2 rule.
public struct TrainingState: Codable, Sendable, Equatable {
    public static let formatVersion = 2
    /// The formats this version reads.
    public static let readableFormats: ClosedRange<Int> = 1...2
    public var format: Int
    /// Steps taken (the index of the next step); the schedule's position.
    public var step: Int
    public var consecutiveNonFiniteSteps: Int
    public var lastGoodStep: Int?
    /// The trainer's generator, xoshiro words as 16-digit hex (JSON numbers lose 64-bit integers).
    public var generator: [String]
    /// The batch source's state, its generator words in hex too.
    public var data: BatchSourceState
    public var dataGenerator: [String]
    /// The module keys trained, in order.
    public var modules: [String]
    public var configuration: TrainerConfiguration

    static func hex(_ g: RandomGenerator) -> [String] {
        g.state.map { String($0, radix: 16).leftPadded(to: 16) }
    }

    static func generator(_ words: [String]) -> RandomGenerator? {
        let values = words.compactMap { UInt64($0, radix: 16) }
        guard values.count == 4, words.count == 4 else { return nil }
        var g = RandomGenerator(seed: 0)
        g.state = values
        return g
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { String(repeating: "0", count: Swift.max(0, n - count)) + self }
}

/// Checkpoints: trained modules' weights (`model.<key>`), the optimizer's state
/// (`optimizer.<key>.<state>`, `optimizer.step`) and ``TrainingState`` in one safetensors file,
/// written atomically (a crash mid-write leaves the previous checkpoint).
extension Trainer {
    static let metadataKey = "slkd.training"

    /// Writes the trainer's complete state to `url` (atomically).
    public func saveCheckpoint(to url: URL) throws {
        var tensors: [(String, Tensor)] = []
        for (key, tensor) in parameters.stateDictionary().sorted(by: { $0.key < $1.key }) {
            tensors.append(("model." + key, tensor))
        }
        for (key, tensor) in optimizer.optimizerState().flattened.sorted(by: { $0.key < $1.key }) {
            tensors.append(("optimizer." + key, tensor))
        }
        var dataState = data.state
        let dataGenerator = TrainingState.hex(dataState.generator)
        dataState.generator = RandomGenerator(seed: 0)  // carried in hex instead
        let state = TrainingState(format: TrainingState.formatVersion, step: step,
                                  consecutiveNonFiniteSteps: consecutiveNonFiniteSteps, lastGoodStep: lastGoodStep,
                                  generator: TrainingState.hex(generator), data: dataState, dataGenerator: dataGenerator,
                                  modules: parameters.members.map(\.key), configuration: configuration)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(state), as: UTF8.self)
        try SafeTensors.write(tensors, metadata: [Self.metadataKey: json], to: url)
    }

    /// Restores a state written by ``saveCheckpoint(to:)``: weights, optimizer, step, generators
    /// and the batch source's position, so that the run continues exactly as if uninterrupted.
    ///
    /// - Parameters:
    ///   - url: the checkpoint file.
    ///   - maximumBytes: the most tensor bytes the file may produce (a `--max-memory` setting);
    ///     nil derives the limit from the file's size (`ReadBudget`).
    /// - Throws: ``TrainingError/checkpoint(path:reason:)`` when the file does not fit this
    ///   trainer (nothing is changed then), or the batch source's restore error.
    public func loadCheckpoint(from url: URL, maximumBytes: Int? = nil) throws {
        func fail(_ reason: String) -> TrainingError { .checkpoint(path: url.path, reason: reason) }
        let file = try TrainingCheckpointFile.read(from: url, maximumBytes: maximumBytes)
        let state = file.state, model = file.model
        guard state.modules == parameters.members.map(\.key) else {
            throw fail("it trains modules \(state.modules), this trainer \(parameters.members.map(\.key))")
        }
        // Validate everything before changing anything.
        if let problem = state.inconsistency(with: configuration, optimizerStep: file.optimizer.step) { throw fail(problem) }
        let current = parameters.stateDictionary()
        for (key, tensor) in current where model[key]?.shape != tensor.shape {
            throw fail(model[key] == nil ? "missing weight '\(key)'" : "weight '\(key)' has shape \(model[key]!.shape), expected \(tensor.shape)")
        }
        if let extra = model.keys.first(where: { current[$0] == nil }) { throw fail("unexpected weight '\(extra)'") }
        try data.restore(file.data)
        do {
            try optimizer.loadOptimizerState(file.optimizer, for: parameters)
            try parameters.loadStateDictionary(model)
        } catch { throw fail("\(error)") }
        step = state.step
        parametersSynchronized = false
        generator = file.generator
        consecutiveNonFiniteSteps = state.consecutiveNonFiniteSteps
        lastGoodStep = state.lastGoodStep
    }
}
