/// The pairs of a dataset one process handles in a data-parallel evaluation: every `count`-th
/// pair from `rank` (pairs `rank`, `rank + count`, …), so that the processes split the work
/// evenly and together cover each pair once.
public struct ShardedPairedDataset: PairedDataset {
    /// The whole dataset.
    public let base: any PairedDataset
    /// Which share this is.
    public let shard: DataShard

    public init(_ base: any PairedDataset, shard: DataShard) {
        self.base = base
        self.shard = shard
    }

    public var count: Int { max(0, (base.count - shard.rank + shard.count - 1) / shard.count) }

    /// The base dataset's index of this share's pair `index`.
    public func baseIndex(_ index: Int) -> Int { shard.rank + index * shard.count }

    public func name(at index: Int) -> String { base.name(at: baseIndex(index)) }

    public func pair(at index: Int, epoch: Int) throws(DatasetError) -> ImagePair {
        try base.pair(at: baseIndex(index), epoch: epoch)
    }
}
