import Foundation

/// Produces batches on a thread of its own, up to `prefetch` ahead of the training step.
///
/// One producer runs the ``PairedBatchSampler`` sequentially, so the stream of batches is exactly
/// the sampler's, whatever the timing of the two threads. Each queued batch travels with the
/// sampler state just after it, and ``state`` reports the state after the last batch *handed
/// out*: saving it in a checkpoint and resuming with ``restore(_:)`` gives the batches the
/// consumer has not yet seen, ignoring the ones prefetched but never taken.
///
/// An error while producing is queued after the batches made before it and thrown by the
/// ``nextBatch()`` that reaches it (and by every later call); the producer then stops. ``stop()``
/// (also run on `deinit`) wakes the producer, waits for it to finish the batch in hand, and
/// joins it.
public final class BackgroundLoader: BatchSource, @unchecked Sendable {
    /// Shared by the loader and its thread (the thread holds no reference to the loader, so
    /// dropping the loader stops it).
    private final class Channel: @unchecked Sendable {
        let condition = NSCondition()
        var queue: [(batch: Result<TrainingBatch, DatasetError>, state: BatchSourceState)] = []
        var stopRequested = false
        var producerFinished = false
    }

    private var channel: Channel
    private let prefetch: Int
    /// The sampler the current producer started from (its dataset, batch and shard serve
    /// ``restore(_:)``).
    private var sampler: PairedBatchSampler
    /// Guarded by `channel.condition`.
    private var consumedState: BatchSourceState
    private var terminalError: DatasetError?

    /// Starts producing batches from `sampler`.
    ///
    /// - Parameters:
    ///   - sampler: the sampler whose batches are produced, in its order.
    ///   - prefetch: the most batches kept ready (at least 1; smaller values count as 1).
    public init(sampler: PairedBatchSampler, prefetch: Int = 4) {
        self.prefetch = Swift.max(prefetch, 1)
        self.sampler = sampler
        consumedState = sampler.state
        channel = Self.start(sampler, prefetch: self.prefetch)
    }

    /// A new producer thread running `sampler`.
    private static func start(_ sampler: PairedBatchSampler, prefetch: Int) -> Channel {
        let channel = Channel()
        let thread = Thread { [channel, prefetch] in
            var sampler = sampler
            Self.produce(&sampler, into: channel, prefetch: prefetch)
        }
        thread.name = "SLKD BackgroundLoader"
        thread.stackSize = 8 << 20
        thread.start()
        return channel
    }

    deinit { stop() }

    private static func produce(_ sampler: inout PairedBatchSampler, into channel: Channel, prefetch: Int) {
        let condition = channel.condition
        defer {
            condition.lock()
            channel.producerFinished = true
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            while channel.queue.count >= prefetch && !channel.stopRequested { condition.wait() }
            let stop = channel.stopRequested
            condition.unlock()
            if stop { return }

            let result = Result { () throws(DatasetError) in try sampler.nextBatch() }
            condition.lock()
            channel.queue.append((result, sampler.state))
            condition.broadcast()
            condition.unlock()
            if case .failure = result { return }
        }
    }

    /// The next batch, waiting for the producer when none is ready.
    ///
    /// - Throws: the producer's ``DatasetError``, in stream order; ``DatasetError/Reason/loaderStopped``
    ///   after ``stop()``.
    public func nextBatch() throws(DatasetError) -> TrainingBatch {
        let condition = channel.condition
        condition.lock()
        defer { condition.unlock() }
        if let terminalError { throw terminalError }
        while channel.queue.isEmpty && !channel.producerFinished && !channel.stopRequested { condition.wait() }
        guard !channel.queue.isEmpty else { throw DatasetError(.loaderStopped) }
        let (result, state) = channel.queue.removeFirst()
        condition.broadcast()
        switch result {
        case .success(let batch):
            consumedState = state
            return batch
        case .failure(let error):
            terminalError = error
            throw error
        }
    }

    /// The state after the last batch returned by ``nextBatch()`` (the starting state before any).
    public var state: BatchSourceState {
        channel.condition.lock()
        defer { channel.condition.unlock() }
        return consumedState
    }

    /// The number of batches ready now (for monitoring whether loading keeps up).
    public var readyCount: Int {
        channel.condition.lock()
        defer { channel.condition.unlock() }
        return channel.queue.count
    }

    /// Continues from `saved`: the producer is stopped, what it had prefetched is dropped, and a
    /// new producer starts there.
    ///
    /// - Throws: ``BatchSourceError/stateMismatch(_:)`` when the state does not fit the dataset
    ///   (nothing changes then).
    public func restore(_ saved: BatchSourceState) throws(BatchSourceError) {
        var resumed = sampler
        try resumed.restore(saved)
        stop()
        sampler = resumed
        consumedState = saved
        terminalError = nil
        channel = Self.start(resumed, prefetch: prefetch)
    }

    /// Stops the producer and waits for its thread to end; queued batches are dropped. Idempotent.
    public func stop() {
        let condition = channel.condition
        condition.lock()
        channel.stopRequested = true
        channel.queue.removeAll()
        condition.broadcast()
        while !channel.producerFinished { condition.wait() }
        condition.unlock()
    }
}
