import SLKDTensor

/// The data pipeline as the ``Trainer``'s ``BatchSource``: random patches of a ``PairedDataset``
/// drawn by a ``PairedBatchSampler``, optionally produced ahead on a ``BackgroundLoader`` thread.
///
/// ```swift
/// let data = try PairedDatasetBatchSource(dataset: pairs, batchSize: 8,
///                                         augmentation: .init(patchSize: 128), seed: 1, prefetch: 2)
/// let trainer = Trainer(objective: objective, data: data, configuration: configuration, logger: logger)
/// ```
///
/// Its ``state`` is the sampler's ``SamplerState`` after the last batch *handed out* (prefetched
/// batches not yet taken do not count), so a checkpoint resumes with exactly the batch the
/// uninterrupted run would have drawn next. ``restore(_:)`` stops the loader, drops what it had
/// prefetched and starts a fresh one from the restored state. Batch ids are the sampler's batch
/// counter, so they stay unique across a resume.
public final class PairedDatasetBatchSource: BatchSource {
    /// The pairs.
    public let dataset: any PairedDataset
    /// Samples per batch.
    public let batchSize: Int
    /// The crop, flips and turns.
    public let augmentation: PatchAugmentation
    /// Whether each epoch visits the pairs in a new random order.
    public let shuffles: Bool
    /// Batches kept ready on a background thread (0: batches are made on the calling thread).
    public let prefetch: Int

    /// The sampler, when loading on the calling thread.
    private var sampler: PairedBatchSampler
    /// The loader, when prefetching (it owns a copy of the sampler).
    private var loader: BackgroundLoader?

    /// A source at the start of the stream fixed by `seed`.
    ///
    /// - Parameters:
    ///   - dataset: the pairs.
    ///   - batchSize: samples per batch.
    ///   - augmentation: the crop, flips and turns of each sample.
    ///   - shuffles: whether each epoch visits the pairs in a new random order.
    ///   - seed: fixes the stream of orders and augmentations.
    ///   - prefetch: batches produced ahead on a background thread (0: none, no thread).
    /// - Throws: ``DatasetError/Reason/emptyDataset`` for a dataset without pairs.
    public init(dataset: any PairedDataset, batchSize: Int, augmentation: PatchAugmentation = .init(),
                shuffles: Bool = true, seed: UInt64, prefetch: Int = 2) throws(DatasetError) {
        precondition(prefetch >= 0, "prefetch must not be negative, got \(prefetch)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.shuffles = shuffles
        self.prefetch = prefetch
        sampler = try PairedBatchSampler(dataset: dataset, batchSize: batchSize, augmentation: augmentation,
                                         shuffles: shuffles, seed: seed)
        start()
    }

    deinit { loader?.stop() }

    /// Hands `sampler` to a new loader thread when prefetching.
    private func start() {
        loader = prefetch > 0 ? BackgroundLoader(sampler: sampler, prefetch: prefetch) : nil
    }

    /// The sampler state after the last batch handed out.
    public var samplerState: SamplerState { loader?.state ?? sampler.state }

    public var state: BatchSourceState { BatchSourceState(samplerState) }

    /// Continues from `state`: prefetched batches are dropped and the stream restarts there.
    ///
    /// - Throws: ``BatchSourceError/stateMismatch(_:)`` when the state was not written by a
    ///   paired-dataset source or does not cover this dataset's pairs (nothing changes then).
    public func restore(_ state: BatchSourceState) throws {
        let saved = try SamplerState(state)
        let resumed: PairedBatchSampler
        do {
            resumed = try PairedBatchSampler(dataset: dataset, batchSize: batchSize, augmentation: augmentation,
                                             shuffles: shuffles, resumingFrom: saved)
        } catch {
            throw BatchSourceError.stateMismatch("\(error)")
        }
        loader?.stop()
        sampler = resumed
        start()
    }

    /// The next batch (its id: batches handed out before it).
    ///
    /// - Throws: the ``DatasetError`` of the first pair that cannot be read or cut, by name.
    public func nextBatch() throws -> TrainingBatch {
        let id = samplerState.batchesProduced
        let batch = if let loader { try loader.next() } else { try sampler.nextBatch() }
        return TrainingBatch(degraded: batch.degraded, clean: batch.clean, id: id)
    }
}

extension BatchSourceState {
    /// Key of ``extra`` holding a ``SamplerState``'s seed (decimal).
    static let samplerSeedKey = "sampler.seed"

    /// A sampler state in the trainer's terms (its seed travels in ``extra``).
    public init(_ s: SamplerState) {
        self.init(generator: s.generator, epoch: s.epoch, position: s.position, order: s.permutation,
                  batchesServed: s.batchesProduced, extra: [Self.samplerSeedKey: String(s.seed)])
    }
}

extension SamplerState {
    /// The sampler state a ``BatchSourceState`` written by ``PairedDatasetBatchSource`` holds.
    ///
    /// - Throws: ``BatchSourceError/stateMismatch(_:)`` when it carries no sampler seed.
    public init(_ s: BatchSourceState) throws {
        guard let text = s.extra[BatchSourceState.samplerSeedKey], let seed = UInt64(text) else {
            throw BatchSourceError.stateMismatch("it carries no '\(BatchSourceState.samplerSeedKey)' (not a paired-dataset source's state)")
        }
        self.init(seed: seed, epoch: s.epoch, position: s.position, permutation: s.order, generator: s.generator,
                  batchesProduced: s.batchesServed)
    }
}
