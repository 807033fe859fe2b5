import Dispatch
import SLKDTensor

/// Draws training batches from a paired dataset: each epoch visits every pair once in a shuffled
/// order, each visit cuts one random patch (``PatchAugmentation``), and consecutive visits form a
/// batch. Batches continue across epoch boundaries without dropping or repeating samples, so a
/// dataset smaller than the batch still works.
///
/// Everything random comes from one generator held in ``state``: it draws each epoch's order and
/// one seed per sample, and the sample's crop, flips and turns are drawn from a generator of that
/// seed. The main generator thus advances by the same amount whatever the image sizes, so every
/// process of a data-parallel run (``DataShard``) follows the same global stream while reading only
/// its own slice, and the stream depends only on the seed and the global batch size. A saved state
/// resumes it exactly. A batch that throws leaves the state as it was.
public struct PairedBatchSampler: BatchSource, Sendable {
    /// The pairs.
    public let dataset: any PairedDataset
    /// Samples per batch on this process.
    public let batchSize: Int
    /// The crop and flips.
    public let augmentation: PatchAugmentation
    /// Whether each epoch visits the pairs in a new random order (`false`: index order).
    public let shuffles: Bool
    /// This process's slice of every global batch.
    public let shard: DataShard
    /// Whether the pairs of a batch are read (and synthesised) on several threads at once. Off by
    /// default: under a ``BackgroundLoader`` the training step already uses every core.
    public var loadsConcurrently = false
    /// Where the global stream stands.
    public private(set) var state: BatchSourceState

    /// Samples per global batch: ``batchSize`` on each of the shard's processes.
    public var globalBatchSize: Int { batchSize * shard.count }

    /// A sampler at the start of the stream fixed by `seed`.
    ///
    /// - Throws: ``DatasetError/Reason/emptyDataset`` for a dataset without pairs,
    ///   ``DatasetError/Reason/invalidBatchSize(_:)`` for a batch size below 1.
    public init(dataset: any PairedDataset, batchSize: Int, augmentation: PatchAugmentation = .init(),
                shuffles: Bool = true, seed: UInt64, shard: DataShard = .single) throws(DatasetError) {
        guard batchSize > 0 else { throw DatasetError(.invalidBatchSize(batchSize)) }
        guard dataset.count > 0 else { throw DatasetError(.emptyDataset) }
        self.dataset = dataset
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.shuffles = shuffles
        self.shard = shard
        var generator = RandomGenerator(seed: seed)
        let order = Self.order(count: dataset.count, shuffled: shuffles, using: &generator)
        state = BatchSourceState(generator: generator, order: order)
    }

    /// Continues from a saved state.
    ///
    /// - Throws: ``BatchSourceError/stateMismatch(_:)`` when the state's order does not cover this
    ///   dataset's pairs or its counters are out of range (nothing changes then).
    public mutating func restore(_ saved: BatchSourceState) throws(BatchSourceError) {
        if let problem = saved.mismatch(datasetCount: dataset.count) { throw .stateMismatch(problem) }
        state = saved
    }

    /// The next batch: this process's slice of the next global batch.
    ///
    /// - Throws: ``DatasetError`` from reading a pair or cutting its patch (the first failing
    ///   sample in stream order); the state is unchanged.
    public mutating func nextBatch() throws(DatasetError) -> TrainingBatch {
        var s = state
        // 1. The global batch: which pairs, in which epochs, with which augmentation seeds.
        var slots: [(index: Int, epoch: Int, seed: UInt64)] = []
        for _ in 0..<globalBatchSize {
            if s.position == s.order.count {
                s.epoch += 1
                s.position = 0
                s.order = Self.order(count: dataset.count, shuffled: shuffles, using: &s.generator)
            }
            slots.append((s.order[s.position], s.epoch, s.generator.next()))
            s.position += 1
        }
        let mine = Array(slots[(shard.rank * batchSize)..<((shard.rank + 1) * batchSize)])
        // 2. Read this process's pairs (pure functions of index and epoch, so concurrency cannot
        //    change the result).
        let pairs = loadPairs(mine.map { ($0.index, $0.epoch) })
        // 3. Cut each patch with its own generator.
        let p = augmentation.patchSize
        var degraded: [Float] = [], clean: [Float] = [], transforms: [PatchTransform] = [], names: [String] = []
        var channels = 0
        for (slot, result) in zip(mine, pairs) {
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
            var sampleGenerator = RandomGenerator(seed: slot.seed)
            let transform = try augmentation.drawTransform(height: h, width: w, name: pair.name, using: &sampleGenerator)
            let offsets = transform.sourceOffsets(size: p, height: h, width: w)
            Self.append(pair.degraded, offsets: offsets, to: &degraded)
            Self.append(pair.clean, offsets: offsets, to: &clean)
            names.append(pair.name)
            transforms.append(transform)
        }
        let id = s.batchesServed
        s.batchesServed += 1
        state = s
        let shape = [batchSize, channels, p, p]
        return TrainingBatch(degraded: Tensor(shape: shape, scalars: degraded), clean: Tensor(shape: shape, scalars: clean),
                             id: id, indices: mine.map(\.index), names: names, epochs: mine.map(\.epoch), transforms: transforms)
    }

    private func loadPairs(_ slots: [(index: Int, epoch: Int)]) -> [Result<ImagePair, DatasetError>] {
        let dataset = self.dataset
        @Sendable func load(_ k: Int) -> Result<ImagePair, DatasetError> {
            Result { () throws(DatasetError) in try dataset.pair(at: slots[k].index, epoch: slots[k].epoch) }
        }
        guard loadsConcurrently && slots.count > 1 else { return slots.indices.map(load) }
        let results = ConcurrentSlots<Result<ImagePair, DatasetError>>(count: slots.count)
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

/// One slot per iteration of a `concurrentPerform`; each iteration writes only its own slot
/// (through a raw buffer: a class's array property would be a shared exclusive access).
private final class ConcurrentSlots<T>: @unchecked Sendable {
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
