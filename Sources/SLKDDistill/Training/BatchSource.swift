/// One training batch: degraded inputs and their clean targets, both B×C×H×W in [0, 1].
public struct TrainingBatch: @unchecked Sendable {
    public var degraded: Tensor
    public var clean: Tensor
    /// An identifier unique within a run (the source's batch counter), used to reuse teacher
    /// outputs computed for this very batch.
    public var id: Int

    public init(degraded: Tensor, clean: Tensor, id: Int) {
        precondition(degraded.rank == 4 && degraded.shape == clean.shape,
                     "a training batch needs degraded and clean B×C×H×W tensors of one shape, got \(degraded.shape) and \(clean.shape)")
        self.degraded = degraded
        self.clean = clean
        self.id = id
    }

    public var batchSize: Int { degraded.shape[0] }
}

/// Where a batch source stands, enough to continue exactly where it was: the generator that
/// draws orders and augmentations, the epoch, the position in it, and the current order.
public struct BatchSourceState: Codable, Sendable, Hashable {
    public var generator: RandomGenerator
    public var epoch: Int
    /// Samples (or batches, as the source counts) consumed in the current epoch.
    public var position: Int
    /// The current epoch's sample order (empty when the source regenerates it from `generator`).
    public var order: [Int]
    /// Batches handed out so far (the next batch's ``TrainingBatch/id``).
    public var batchesServed: Int
    /// Anything else a source needs (free-form, JSON-encoded into checkpoints).
    public var extra: [String: String]

    public init(generator: RandomGenerator, epoch: Int = 0, position: Int = 0, order: [Int] = [], batchesServed: Int = 0,
                extra: [String: String] = [:]) {
        self.generator = generator
        self.epoch = epoch
        self.position = position
        self.order = order
        self.batchesServed = batchesServed
        self.extra = extra
    }
}

/// A stream of training batches that can be checkpointed and resumed: after
/// `restore(state)` the source yields exactly the batches it yielded after `state` was taken.
///
/// The data pipeline's loaders (paired folders, crops and flips, background prefetch) conform to
/// this; ``InMemoryBatchSource`` is the simplest conformer.
public protocol BatchSource: AnyObject {
    /// The next batch.
    func nextBatch() throws -> TrainingBatch
    /// The current state (before the next batch is drawn).
    var state: BatchSourceState { get }
    /// Returns to a saved state. Throws when the state does not fit this source.
    func restore(_ state: BatchSourceState) throws
}

/// Why a batch source could not continue.
public enum BatchSourceError: Error, CustomStringConvertible, Equatable {
    case empty
    case stateMismatch(String)

    public var description: String {
        switch self {
        case .empty: "the batch source holds no samples"
        case .stateMismatch(let why): "cannot restore batch source state: \(why)"
        }
    }
}

/// Batches from pairs held in memory, reshuffled every epoch by its own generator, with optional
/// random horizontal flips (so that resuming also has augmentation state to restore).
public final class InMemoryBatchSource: BatchSource {
    /// The pairs, each C×H×W (one shape for all).
    public let degraded: [Tensor]
    public let clean: [Tensor]
    public let batchSize: Int
    public let randomFlips: Bool
    private var current: BatchSourceState

    /// - Parameters:
    ///   - pairs: (degraded, clean) C×H×W tensors or 1×C×H×W tensors, all of one shape.
    ///   - batchSize: samples per batch; an epoch's last partial batch is dropped.
    ///   - randomFlips: flip each sample horizontally with probability ½ (both images alike).
    ///   - seed: seeds the source's generator (epoch orders and flips).
    public init(pairs: [(degraded: Tensor, clean: Tensor)], batchSize: Int, randomFlips: Bool = false, seed: UInt64 = 0) throws {
        guard !pairs.isEmpty, batchSize > 0, pairs.count >= batchSize else { throw BatchSourceError.empty }
        func image(_ t: Tensor) -> Tensor { t.rank == 4 ? t.squeezed(axis: 0) : t }
        degraded = pairs.map { image($0.degraded) }
        clean = pairs.map { image($0.clean) }
        self.batchSize = batchSize
        self.randomFlips = randomFlips
        current = BatchSourceState(generator: RandomGenerator(seed: seed))
        startEpoch(0)
    }

    public var state: BatchSourceState { current }

    public func restore(_ state: BatchSourceState) throws {
        guard state.order.count == degraded.count else {
            throw BatchSourceError.stateMismatch("order holds \(state.order.count) samples, the source \(degraded.count)")
        }
        current = state
    }

    private func startEpoch(_ epoch: Int) {
        var order = Array(0..<degraded.count)
        order.shuffle(using: &current.generator)
        current.order = order
        current.epoch = epoch
        current.position = 0
    }

    public func nextBatch() throws -> TrainingBatch {
        if current.position + batchSize > current.order.count { startEpoch(current.epoch + 1) }
        var inputs = [Tensor](), targets = [Tensor]()
        for i in current.order[current.position..<(current.position + batchSize)] {
            var (d, c) = (degraded[i], clean[i])
            if randomFlips && current.generator.nextUnit() < 0.5 {
                d = d.flipped(axes: [2])
                c = c.flipped(axes: [2])
            }
            inputs.append(d)
            targets.append(c)
        }
        current.position += batchSize
        let id = current.batchesServed
        current.batchesServed += 1
        return TrainingBatch(degraded: Tensor.stacked(inputs, axis: 0), clean: Tensor.stacked(targets, axis: 0), id: id)
    }
}
