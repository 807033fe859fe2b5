import SLKDTensor

/// Where a batch stream stands, enough to continue it exactly: the epoch, the position in the
/// epoch's order, the order itself, the generator that draws the next orders and every sample's
/// augmentation, and the number of (global) batches served.
///
/// It describes the global stream, so it is the same on every process of a data-parallel run
/// and a checkpoint resumes on any number of processes.
///
/// Checkpoints of format 1 stored this state with an `extra` dictionary (the sampler's seed under
/// `sampler.seed`); decoding ignores it, so those checkpoints resume. See ``TrainingState``.
public struct BatchSourceState: Codable, Sendable, Hashable {
    /// The generator that draws epoch orders and per-sample augmentation seeds.
    public var generator: RandomGenerator
    /// The epoch of the next sample.
    public var epoch: Int
    /// The next position in ``order``.
    public var position: Int
    /// This epoch's order of dataset indices.
    public var order: [Int]
    /// Global batches handed out so far (the next batch's ``TrainingBatch/id``).
    public var batchesServed: Int

    public init(generator: RandomGenerator, epoch: Int = 0, position: Int = 0, order: [Int] = [], batchesServed: Int = 0) {
        self.generator = generator
        self.epoch = epoch
        self.position = position
        self.order = order
        self.batchesServed = batchesServed
    }

    /// Why this state cannot continue a stream over `count` pairs, or nil when it can.
    func mismatch(datasetCount count: Int) -> String? {
        guard order.count == count, Set(order) == Set(0..<count) else {
            return "its order covers \(order.count) pairs, the dataset has \(count)"
        }
        guard (0...count).contains(position), epoch >= 0, batchesServed >= 0 else {
            return "position \(position), epoch \(epoch) or batch count \(batchesServed) out of range"
        }
        return nil
    }
}
