import Foundation

/// Produces batches on a thread of its own, up to `prefetch` ahead of the training step.
///
/// One producer runs the ``PairedBatchSampler`` sequentially, so the stream of batches is exactly
/// the sampler's, whatever the timing of the two threads. Each queued batch travels with the
/// sampler state just after it, and ``state`` reports the state after the last batch *handed
/// out* — saving it in a checkpoint and resuming with
/// ``PairedBatchSampler/init(dataset:batchSize:augmentation:shuffles:resumingFrom:)`` gives the
/// batches the consumer has not yet seen, ignoring the ones prefetched but never taken.
///
/// An error while producing is queued after the batches made before it and thrown by the
/// ``next()`` that reaches it (and by every later call); the producer then stops. ``stop()``
/// (also run on `deinit`) wakes the producer, waits for it to finish the batch in hand, and
/// joins it.
public final class BackgroundLoader: @unchecked Sendable {
    /// Shared by the loader and its thread (the thread holds no reference to the loader, so
    /// dropping the loader stops it).
    private final class Channel: @unchecked Sendable {
        let condition = NSCondition()
        var queue: [(batch: Result<PairedTrainingBatch, DatasetError>, state: SamplerState)] = []
        var stopRequested = false
        var producerFinished = false
    }

    private let channel = Channel()
    private let prefetch: Int
    /// Guarded by `channel.condition`.
    private var consumedState: SamplerState
    private var terminalError: DatasetError?

    /// Starts producing batches from `sampler`.
    ///
    /// - Parameters:
    ///   - sampler: the sampler whose batches are produced, in its order.
    ///   - prefetch: the most batches kept ready (at least 1).
    public init(sampler: PairedBatchSampler, prefetch: Int = 4) {
        precondition(prefetch >= 1, "prefetch must be at least 1, got \(prefetch)")
        self.prefetch = prefetch
        consumedState = sampler.state
        let channel = self.channel
        let thread = Thread { [channel, prefetch] in
            var sampler = sampler
            Self.produce(&sampler, into: channel, prefetch: prefetch)
        }
        thread.name = "SLKD BackgroundLoader"
        thread.stackSize = 8 << 20
        thread.start()
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
    public func next() throws(DatasetError) -> PairedTrainingBatch {
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

    /// The sampler state after the last batch returned by ``next()`` (the starting state before any).
    public var state: SamplerState {
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
