import Dispatch
import SLKDTensor

/// A batch of training patches: degraded inputs and clean targets, `B×C×P×P` float32 in [0, 1].
public struct PairedTrainingBatch: @unchecked Sendable {
    /// The model's inputs.
    public var degraded: Tensor
    /// The targets, pixel for pixel under the same crop, flips and turns as `degraded`.
    public var clean: Tensor
    /// The dataset index of each sample.
    public var indices: [Int]
    /// The name of each sample's pair.
    public var names: [String]
    /// The epoch each sample was drawn in (a batch may straddle two epochs).
    public var epochs: [Int]
    /// How each patch was cut and turned.
    public var transforms: [PatchTransform]

    /// The number of samples.
    public var count: Int { indices.count }
}

/// Where a ``PairedBatchSampler`` stands: everything needed to continue the exact same stream of
/// batches after a restart. Store it in a training checkpoint (it is `Codable`).
public struct SamplerState: Codable, Sendable, Equatable {
    /// The seed the stream started from.
    public var seed: UInt64
    /// The epoch of the next sample.
    public var epoch: Int
    /// The next position in ``permutation``.
    public var position: Int
    /// This epoch's order of dataset indices.
    public var permutation: [Int]
    /// The generator that draws the next epoch's order and every crop and flip.
    public var generator: RandomGenerator
    /// Batches produced so far.
    public var batchesProduced: Int
}

/// Draws training batches from a paired dataset: each epoch visits every pair once in a shuffled
/// order, each visit cuts one random patch (``PatchAugmentation``), and `batchSize` consecutive
/// visits form a batch. Batches continue across epoch boundaries without dropping or repeating
/// samples, so a dataset smaller than the batch still works.
///
/// Everything random comes from one generator held in ``state``, advanced in a fixed order, so a
/// seed fixes the whole stream and a saved state resumes it exactly. A batch that throws leaves
/// the state as it was.
public struct PairedBatchSampler: Sendable {
    /// The pairs.
    public let dataset: any PairedDataset
    /// Samples per batch.
    public let batchSize: Int
    /// The crop and flips.
    public let augmentation: PatchAugmentation
    /// Whether each epoch visits the pairs in a new random order (`false`: index order).
    public let shuffles: Bool
    /// Whether the pairs of a batch are read (and synthesised) on several threads at once. Off by
    /// default: under a ``BackgroundLoader`` the training step already uses every core.
    public var loadsConcurrently = false
    /// Where the stream stands.
    public private(set) var state: SamplerState

    /// A sampler at the start of the stream fixed by `seed`.
    public init(dataset: any PairedDataset, batchSize: Int, augmentation: PatchAugmentation = .init(),
                shuffles: Bool = true, seed: UInt64) throws(DatasetError) {
        precondition(batchSize > 0, "batch size must be positive, got \(batchSize)")
        guard dataset.count > 0 else { throw DatasetError(.emptyDataset) }
        self.dataset = dataset
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.shuffles = shuffles
        var generator = RandomGenerator(seed: seed)
        let order = Self.order(count: dataset.count, shuffled: shuffles, using: &generator)
        state = SamplerState(seed: seed, epoch: 0, position: 0, permutation: order, generator: generator, batchesProduced: 0)
    }

    /// A sampler that continues from a saved `state`.
    ///
    /// - Throws: ``DatasetError/Reason/incompatibleState(_:)`` when the state's permutation does not
    ///   cover this dataset's pairs.
    public init(dataset: any PairedDataset, batchSize: Int, augmentation: PatchAugmentation = .init(),
                shuffles: Bool = true, resumingFrom state: SamplerState) throws(DatasetError) {
        try self.init(dataset: dataset, batchSize: batchSize, augmentation: augmentation, shuffles: shuffles, seed: state.seed)
        guard state.permutation.count == dataset.count, Set(state.permutation) == Set(0..<dataset.count) else {
            throw DatasetError(.incompatibleState(
                "its order covers \(state.permutation.count) pairs, the dataset has \(dataset.count)"))
        }
        guard (0...dataset.count).contains(state.position), state.epoch >= 0, state.batchesProduced >= 0 else {
            throw DatasetError(.incompatibleState("position \(state.position) or epoch \(state.epoch) out of range"))
        }
        self.state = state
    }

    /// The next batch.
    ///
    /// - Throws: ``DatasetError`` from reading a pair or cutting its patch (the first failing
    ///   sample in stream order); the state is unchanged.
    public mutating func nextBatch() throws(DatasetError) -> PairedTrainingBatch {
        var s = state
        // 1. Which pairs, in which epochs: advances the order (and reshuffles) only.
        var slots: [(index: Int, epoch: Int)] = []
        for _ in 0..<batchSize {
            if s.position == s.permutation.count {
                s.epoch += 1
                s.position = 0
                s.permutation = Self.order(count: dataset.count, shuffled: shuffles, using: &s.generator)
            }
            slots.append((s.permutation[s.position], s.epoch))
            s.position += 1
        }
        // 2. Read them (pure functions of index and epoch, so concurrency cannot change the result).
        let pairs = loadPairs(slots)
        // 3. Crops and flips, drawn in sample order.
        let p = augmentation.patchSize
        var degraded: [Float] = [], clean: [Float] = [], transforms: [PatchTransform] = [], names: [String] = []
        var channels = 0
        for result in pairs {
            let pair = try result.get()
            guard pair.degraded.shape == pair.clean.shape, pair.clean.rank == 3 else {
                throw DatasetError(.sizeMismatch(name: pair.name, degraded: pair.degraded.shape, clean: pair.clean.shape))
            }
            let (c, h, w) = (pair.clean.shape[0], pair.clean.shape[1], pair.clean.shape[2])
            if names.isEmpty {
                channels = c
                degraded.reserveCapacity(batchSize * c * p * p)
                clean.reserveCapacity(batchSize * c * p * p)
            } else if c != channels {
                throw DatasetError(.channelMismatch(name: pair.name, expected: channels, actual: c))
            }
            let transform = try augmentation.drawTransform(height: h, width: w, name: pair.name, using: &s.generator)
            let offsets = transform.sourceOffsets(size: p, height: h, width: w)
            Self.append(pair.degraded, offsets: offsets, to: &degraded)
            Self.append(pair.clean, offsets: offsets, to: &clean)
            names.append(pair.name)
            transforms.append(transform)
        }
        s.batchesProduced += 1
        state = s
        let shape = [batchSize, channels, p, p]
        return PairedTrainingBatch(degraded: Tensor(shape: shape, scalars: degraded), clean: Tensor(shape: shape, scalars: clean),
                                   indices: slots.map(\.index), names: names, epochs: slots.map(\.epoch), transforms: transforms)
    }

    private func loadPairs(_ slots: [(index: Int, epoch: Int)]) -> [Result<ImagePair, DatasetError>] {
        let dataset = self.dataset
        @Sendable func load(_ k: Int) -> Result<ImagePair, DatasetError> {
            Result { () throws(DatasetError) in try dataset.pair(at: slots[k].index, epoch: slots[k].epoch) }
        }
        guard loadsConcurrently && slots.count > 1 else { return slots.indices.map(load) }
        let results = UnsafeResults<Result<ImagePair, DatasetError>>(count: slots.count)
        DispatchQueue.concurrentPerform(iterations: slots.count) { k in results.set(k, load(k)) }
        return results.values.map { $0! }
    }

    private static func append(_ image: Tensor, offsets: [Int], to values: inout [Float]) {
        let start = values.count, n = image.shape[0] * offsets.count
        values.append(contentsOf: repeatElement(0, count: n))
        values.withUnsafeMutableBufferPointer { PatchTransform.gather(image, offsets: offsets, into: $0.baseAddress! + start) }
    }

    /// `0..<count`, shuffled by Fisher–Yates with `generator` when `shuffled` (our own loop, not
    /// `shuffle(using:)`, whose algorithm the standard library does not promise to keep).
    static func order(count: Int, shuffled: Bool, using generator: inout RandomGenerator) -> [Int] {
        var order = Array(0..<count)
        guard shuffled else { return order }
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, generator.uniformInt(below: i + 1))
        }
        return order
    }
}

/// Anything that hands out training batches in a resumable order: the ``PairedBatchSampler``
/// itself (on the calling thread) or a ``BackgroundLoader`` running one ahead of the consumer.
///
/// A trainer takes `some PairedBatchSource`, stores ``samplerState`` in its checkpoints, and on
/// resume builds a sampler with
/// ``PairedBatchSampler/init(dataset:batchSize:augmentation:shuffles:resumingFrom:)``.
public protocol PairedBatchSource {
    /// The next batch of the stream.
    mutating func nextBatch() throws(DatasetError) -> PairedTrainingBatch
    /// The state after the last batch handed out: resuming from it continues with the next one.
    var samplerState: SamplerState { get }
}

extension PairedBatchSampler: PairedBatchSource {
    public var samplerState: SamplerState { state }
}

extension BackgroundLoader: PairedBatchSource {
    public func nextBatch() throws(DatasetError) -> PairedTrainingBatch { try next() }
    public var samplerState: SamplerState { state }
}

/// One slot per iteration of a `concurrentPerform`; each iteration writes only its own slot
/// (through a raw buffer: a class's array property would be a shared exclusive access).
private final class UnsafeResults<T>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<T?>
    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    func set(_ k: Int, _ value: T) { slots[k] = value }
    var values: [T?] { Array(slots) }
}
