import SLKDTensor

/// A stream of training batches that can be checkpointed and resumed: after
/// `restore(state)` the source yields exactly the batches it yielded after `state` was taken.
///
/// The one implementation in SLKD is the ``PairedBatchSampler`` over any ``PairedDataset``
/// (folders on disk, pairs in memory, synthetic degradations), used directly, through a
/// ``BackgroundLoader`` thread, or through ``PairedDatasetBatchSource`` which picks between the
/// two. A source of your own conforms by keeping its position in a ``BatchSourceState``.
public protocol BatchSource {
    /// The next batch.
    mutating func nextBatch() throws -> TrainingBatch
    /// Where the stream stands: resuming from it continues with the next batch.
    var state: BatchSourceState { get }
    /// Returns to a saved state. Throws when the state does not fit this source (and changes nothing then).
    mutating func restore(_ state: BatchSourceState) throws
}

/// Which slice of every global batch a process takes in a data-parallel run.
///
/// With `count` processes each taking batches of `b` samples, the global batch is `count × b`
/// samples and its sequence depends only on the seed and that global size: process `rank` takes
/// samples `rank·b ..< (rank+1)·b` of each global batch and reads only those pairs.
public struct DataShard: Codable, Sendable, Hashable, CustomStringConvertible {
    /// This process's index, `0..<count`.
    public let rank: Int
    /// The number of processes.
    public let count: Int

    /// The whole batch on one process.
    public static let single = DataShard(uncheckedRank: 0, count: 1)

    /// Process `rank` of `count`.
    ///
    /// - Throws: ``BatchSourceError/invalidShard(rank:count:)`` unless `0 ≤ rank < count`.
    public init(rank: Int, count: Int) throws(BatchSourceError) {
        guard count >= 1, (0..<count).contains(rank) else { throw .invalidShard(rank: rank, count: count) }
        self.rank = rank
        self.count = count
    }

    private init(uncheckedRank rank: Int, count: Int) {
        self.rank = rank
        self.count = count
    }

    public var description: String { "rank \(rank) of \(count)" }
}

/// Why a batch source could not continue.
public enum BatchSourceError: Error, CustomStringConvertible, Equatable {
    case empty
    case stateMismatch(String)
    case invalidShard(rank: Int, count: Int)

    public var description: String {
        switch self {
        case .empty: "the batch source holds no samples"
        case .stateMismatch(let why): "cannot restore batch source state: \(why)"
        case .invalidShard(let rank, let count): "rank \(rank) is not among the \(count) processes"
        }
    }
}
