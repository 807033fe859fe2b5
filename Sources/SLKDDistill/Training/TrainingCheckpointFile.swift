import Foundation

/// A training checkpoint's contents, parsed and checked on their own, before any trainer sees them.
///
/// Reading goes through `SafeTensors/read(from:maximumBytes:)` (and so through its
/// `ReadBudget`); this type adds what the safetensors layer cannot know: the `slkd.training`
/// metadata decodes as a ``TrainingState`` of the current format, the generator words are valid,
/// every tensor is a `model.` weight or an `optimizer.` state, and the counters a trainer does
/// arithmetic on are non-negative and ordered. Whether the checkpoint fits a given trainer and its
/// options is checked by ``Trainer/loadCheckpoint(from:maximumBytes:)``.
public struct TrainingCheckpointFile: Sendable {
    /// The non-tensor state (step, counters, configuration, batch-source position).
    public var state: TrainingState
    /// The trainer's generator.
    public var generator: RandomGenerator
    /// The batch source's state with its generator restored from the hex words.
    public var data: BatchSourceState
    /// Trained weights by module key (the `model.` prefix removed).
    public var model: [String: Tensor]
    /// The optimizer's state (the `optimizer.` prefix removed).
    public var optimizer: OptimizerState

    /// Reads and checks the checkpoint at `url`.
    ///
    /// - Throws: ``TrainingError/checkpoint(path:reason:)`` naming the file and what is wrong.
    public static func read(from url: URL, maximumBytes: Int? = nil) throws(TrainingError) -> TrainingCheckpointFile {
        let contents: SafeTensors.Contents
        do { contents = try SafeTensors.read(from: url, maximumBytes: maximumBytes) } catch {
            throw .checkpoint(path: url.path, reason: "\(error)")
        }
        return try parse(contents, path: url.path)
    }

    /// Checks the tensors and metadata of a checkpoint already read; `path` names it in errors.
    public static func parse(_ contents: SafeTensors.Contents, path: String) throws(TrainingError) -> TrainingCheckpointFile {
        func fail(_ reason: String) -> TrainingError { .checkpoint(path: path, reason: reason) }
        let key = Trainer.metadataKey
        guard let json = contents.metadata[key] else {
            throw fail("no '\(key)' metadata (not a training checkpoint)")
        }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)) } catch {
            throw fail("'\(key)' metadata is not a training state: \(Self.summary(of: error))")
        }
        guard TrainingState.readableFormats.contains(state.format) else {
            throw fail("format \(state.format) is not one of \(TrainingState.readableFormats) (written by a newer SLKD?)")
        }
        // The trainer adds to these counters; a negative or out-of-order value is a corrupt file.
        if let problem = state.counterProblem { throw fail(problem) }
        guard let generator = TrainingState.generator(state.generator) else { throw fail("malformed generator state") }
        guard let dataGenerator = TrainingState.generator(state.dataGenerator) else {
            throw fail("malformed dataGenerator state")
        }
        var model: [String: Tensor] = [:], optimizerTensors: [String: Tensor] = [:]
        for (name, tensor) in contents.tensors {
            if name.hasPrefix("model.") { model[String(name.dropFirst(6))] = tensor }
            else if name.hasPrefix("optimizer.") { optimizerTensors[String(name.dropFirst(10))] = tensor }
            else { throw fail("unexpected tensor '\(name)' (neither model. nor optimizer.)") }
        }
        let optimizer: OptimizerState
        do { optimizer = try OptimizerState(flattened: optimizerTensors) } catch { throw fail("\(error)") }
        var data = state.data
        data.generator = dataGenerator
        return TrainingCheckpointFile(state: state, generator: generator, data: data, model: model, optimizer: optimizer)
    }

    /// A one-line account of a decoding error: the coding path and the problem.
    private static func summary(of error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        let (context, what): (DecodingError.Context, String) = switch decoding {
        case .typeMismatch(_, let c): (c, "wrong type")
        case .valueNotFound(_, let c): (c, "missing value")
        case .keyNotFound(let k, let c): (c, "missing key '\(k.stringValue)'")
        case .dataCorrupted(let c): (c, "corrupt data")
        @unknown default: (DecodingError.Context(codingPath: [], debugDescription: ""), "undecodable")
        }
        let field = context.codingPath.map(\.stringValue).joined(separator: ".")
        return (field.isEmpty ? "" : "field '\(field)': ") + what
    }
}
