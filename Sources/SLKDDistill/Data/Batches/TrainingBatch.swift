import SLKDTensor

/// One training batch: degraded inputs and their clean targets, both `B×C×H×W` float32 in [0, 1],
/// with where each sample came from.
///
/// Under data parallelism (``DataShard``) a batch is one process's slice of the global batch:
/// ``id`` is then the global batch's counter, the same on every process.
public struct TrainingBatch: @unchecked Sendable {
    /// The model's inputs.
    public var degraded: Tensor
    /// The targets, pixel for pixel under the same crop, flips and turns as ``degraded``.
    public var clean: Tensor
    /// An identifier unique within a run (the source's batch counter), used to reuse teacher
    /// outputs computed for this very batch.
    public var id: Int
    /// The dataset index of each sample (empty when the batch was built by hand).
    public var indices: [Int]
    /// The name of each sample's pair.
    public var names: [String]
    /// The epoch each sample was drawn in (a batch may straddle two epochs).
    public var epochs: [Int]
    /// How each patch was cut and turned.
    public var transforms: [PatchTransform]

    /// A batch of `degraded` and `clean` tensors of one `B×C×H×W` shape.
    ///
    /// The shapes come from the code that builds the batch, never from a file: a mismatch is a
    /// programming error.
    public init(degraded: Tensor, clean: Tensor, id: Int, indices: [Int] = [], names: [String] = [],
                epochs: [Int] = [], transforms: [PatchTransform] = []) {
        precondition(degraded.rank == 4 && degraded.shape == clean.shape,
                     "a training batch needs degraded and clean B×C×H×W tensors of one shape, got \(degraded.shape) and \(clean.shape)")
        self.degraded = degraded
        self.clean = clean
        self.id = id
        self.indices = indices
        self.names = names
        self.epochs = epochs
        self.transforms = transforms
    }

    /// Samples in the batch.
    public var batchSize: Int { degraded.shape[0] }
}
