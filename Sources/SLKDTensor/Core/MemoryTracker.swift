import Synchronization

/// Counts the bytes held by live tensor storages, and their high-water mark.
///
/// Benchmarks read ``peakBytes`` to report peak tensor memory; ``resetPeak()`` starts a new
/// measurement. Updates are atomic, so kernels on several threads may allocate freely.
public final class MemoryTracker: Sendable {
    /// The process-wide tracker used by every ``Tensor`` storage.
    public static let shared = MemoryTracker()

    private let current = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)

    /// Bytes currently held by tensor storages.
    public var currentBytes: Int { current.load(ordering: .relaxed) }
    /// The largest value ``currentBytes`` reached since the last ``resetPeak()``.
    public var peakBytes: Int { peak.load(ordering: .relaxed) }

    /// Sets the peak to the current figure.
    public func resetPeak() { peak.store(current.load(ordering: .relaxed), ordering: .relaxed) }

    func allocated(_ bytes: Int) {
        let now = current.wrappingAdd(bytes, ordering: .relaxed).newValue
        var seen = peak.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peak.compareExchange(
                expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    func freed(_ bytes: Int) { current.wrappingSubtract(bytes, ordering: .relaxed) }
}
