import SLKDTensor

/// Pairs held in memory, as a ``PairedDataset``: train on tensors you already have with the same
/// sampler, augmentation and checkpointing as folders on disk.
///
/// ```swift
/// let pairs = try InMemoryPairedDataset(pairs: crops)          // [(degraded, clean)], C×H×W
/// let data = try PairedBatchSampler(dataset: pairs, batchSize: 4,
///                                   augmentation: .init(patchSize: 64, rotations: false), seed: 1)
/// ```
public struct InMemoryPairedDataset: PairedDataset, @unchecked Sendable {
    /// The pairs, each `C×H×W` float32, named `pair0`, `pair1`, ….
    public let pairs: [ImagePair]

    /// Pairs of `C×H×W` (or `1×C×H×W`) tensors; degraded and clean of each pair share one shape.
    ///
    /// - Throws: ``DatasetError/Reason/emptyDataset`` for no pairs,
    ///   ``DatasetError/Reason/sizeMismatch(name:degraded:clean:)`` for a pair whose two images differ in shape.
    public init(pairs: [(degraded: Tensor, clean: Tensor)]) throws(DatasetError) {
        guard !pairs.isEmpty else { throw DatasetError(.emptyDataset) }
        func image(_ t: Tensor) -> Tensor {
            let t = t.rank == 4 && t.shape[0] == 1 ? t.squeezed(axis: 0) : t
            return t.dtype == .float32 ? t : t.cast(to: .float32)
        }
        var named: [ImagePair] = []
        for (k, pair) in pairs.enumerated() {
            let (degraded, clean) = (image(pair.degraded), image(pair.clean))
            guard degraded.rank == 3, degraded.shape == clean.shape else {
                throw DatasetError(.sizeMismatch(name: "pair\(k)", degraded: degraded.shape, clean: clean.shape))
            }
            named.append(ImagePair(name: "pair\(k)", degraded: degraded, clean: clean))
        }
        self.pairs = named
    }

    public var count: Int { pairs.count }

    public func name(at index: Int) -> String { pairs[index].name }

    public func pair(at index: Int, epoch: Int) throws(DatasetError) -> ImagePair { pairs[index] }
}
