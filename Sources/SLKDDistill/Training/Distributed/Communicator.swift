import SLKDTensor

/// The collective operations a data-parallel run needs: each process trains on its slice of the
/// global batch, and the trainer averages gradients and logged values through this.
///
/// ``SingleProcess`` is the default (every operation is the identity). The `SLKDDistributed`
/// module conforms MPI (`MPICommunicator`); pass it to ``Trainer`` or ``TrainingRun`` and nothing
/// else changes. Only the thread that runs the trainer calls a communicator.
public protocol Communicator: AnyObject {
    /// This process's index, `0..<size`.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Replaces each element by its sum over all processes.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces each element by its sum over all processes.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Copies `root`'s bytes into every other process's buffer (all buffers have one size).
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) throws
    /// Returns once every process has called it.
    func barrier() throws
}

/// One process: the communicator of a run that is not distributed.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) throws {}
    public func barrier() throws {}
}

extension Communicator {
    /// This process's slice of each global batch.
    public var shard: DataShard {
        // rank and size come from the communicator, which guarantees 0 ≤ rank < size.
        (try? DataShard(rank: rank, count: size)) ?? .single
    }

    /// The mean of each value over all processes.
    public func allReduceMean(_ values: [Double]) throws -> [Double] {
        var values = values
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        return values.map { $0 / Double(size) }
    }

    /// Averages `gradients` of `module` over all processes, in place.
    public func averageGradients(_ gradients: inout Gradients, of module: Module) throws {
        var flat = gradients.flattened(of: module)
        try flat.floats.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        try flat.doubles.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        let scale = 1 / Double(size)
        for i in flat.floats.indices { flat.floats[i] *= Float(scale) }
        for i in flat.doubles.indices { flat.doubles[i] *= scale }
        gradients.replace(of: module, with: flat)
    }

    /// Gives every process rank 0's parameters and buffers of `module` (after initialisation or
    /// loading, so that all start from the same point).
    public func broadcastState(of module: Module) throws {
        guard size > 1 else { return }
        let state = module.stateDictionary().sorted { $0.key < $1.key }
        var flat = FlatTensors(state.map(\.value))
        try flat.floats.withUnsafeMutableBytes { try broadcast($0, from: 0) }
        try flat.doubles.withUnsafeMutableBytes { try broadcast($0, from: 0) }
        guard rank != 0 else { return }
        let received = flat.unflattened(like: state.map(\.value))
        try module.loadStateDictionary(Dictionary(uniqueKeysWithValues: zip(state.map(\.key), received)))
    }
}
