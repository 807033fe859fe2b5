import SLKDTensor

/// Random patches of a ``PairedDataset`` drawn by a ``PairedBatchSampler``, produced on the
/// calling thread or ahead on a ``BackgroundLoader`` thread: the batch source a ``TrainingRun``
/// builds from options, and the usual choice in Swift code.
///
/// ```swift
/// let data = try PairedDatasetBatchSource(dataset: pairs, batchSize: 8,
///                                         augmentation: .init(patchSize: 128), seed: 1, prefetch: 2)
/// let run = TrainingRun(network: student, objective: objective, data: data,
///                       configuration: .init(totalSteps: 1000))
/// ```
///
/// Its ``state`` is the sampler's state after the last batch *handed out* (prefetched batches
/// not yet taken do not count), so a checkpoint resumes with exactly the batch the uninterrupted
/// run would have drawn next, with or without prefetching. Batch ids are the sampler's global
/// batch counter, so they stay unique across a resume.
public final class PairedDatasetBatchSource: BatchSource {
    /// Batches kept ready on a background thread (0: batches are made on the calling thread).
    public let prefetch: Int
    /// The sampler, when loading on the calling thread; the loader's starting point otherwise.
    private var sampler: PairedBatchSampler
    /// The loader, when prefetching.
    private let loader: BackgroundLoader?

    /// A source at the start of the stream fixed by `seed`.
    ///
    /// - Parameters:
    ///   - dataset: the pairs.
    ///   - batchSize: samples per batch on this process.
    ///   - augmentation: the crop, flips and turns of each sample.
    ///   - shuffles: whether each epoch visits the pairs in a new random order.
    ///   - seed: fixes the stream of orders and augmentations.
    ///   - shard: this process's slice of each global batch (data-parallel runs).
    ///   - prefetch: batches produced ahead on a background thread (0: none, no thread).
    /// - Throws: ``DatasetError/Reason/emptyDataset`` for a dataset without pairs,
    ///   ``DatasetError/Reason/invalidBatchSize(_:)`` for a batch size below 1.
    public init(dataset: any PairedDataset, batchSize: Int, augmentation: PatchAugmentation = .init(),
                shuffles: Bool = true, seed: UInt64, shard: DataShard = .single, prefetch: Int = 2) throws(DatasetError) {
        self.prefetch = Swift.max(prefetch, 0)
        sampler = try PairedBatchSampler(dataset: dataset, batchSize: batchSize, augmentation: augmentation,
                                         shuffles: shuffles, seed: seed, shard: shard)
        loader = prefetch > 0 ? BackgroundLoader(sampler: sampler, prefetch: prefetch) : nil
    }

    deinit { loader?.stop() }

    /// The pairs.
    public var dataset: any PairedDataset { sampler.dataset }
    /// Samples per batch on this process.
    public var batchSize: Int { sampler.batchSize }
    /// This process's slice of each global batch.
    public var shard: DataShard { sampler.shard }

    public var state: BatchSourceState { loader?.state ?? sampler.state }

    /// Continues from `state`: prefetched batches are dropped and the stream restarts there.
    ///
    /// - Throws: ``BatchSourceError/stateMismatch(_:)`` when the state does not cover this
    ///   dataset's pairs (nothing changes then).
    public func restore(_ state: BatchSourceState) throws(BatchSourceError) {
        if let loader { try loader.restore(state) } else { try sampler.restore(state) }
    }

    /// The next batch.
    ///
    /// - Throws: the ``DatasetError`` of the first pair that cannot be read or cut, by name.
    public func nextBatch() throws(DatasetError) -> TrainingBatch {
        if let loader { try loader.nextBatch() } else { try sampler.nextBatch() }
    }
}
