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

/// The bytes held by tensors allocated inside one ``MemoryTracker/measuring(_:)`` scope, and their
/// high-water mark — unaffected by tensors that other threads or tasks allocate meanwhile.
public final class AllocationScope: Sendable {
    private let current = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)

    /// Bytes of tensors allocated in this scope and still alive (wherever they are freed).
    public var currentBytes: Int { current.load(ordering: .relaxed) }
    /// The largest value ``currentBytes`` reached.
    public var peakBytes: Int { peak.load(ordering: .relaxed) }

    func allocated(_ bytes: Int) {
        let now = current.wrappingAdd(bytes, ordering: .relaxed).newValue
        var seen = peak.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peak.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    func freed(_ bytes: Int) { current.wrappingSubtract(bytes, ordering: .relaxed) }
}

extension MemoryTracker {
    @TaskLocal static var activeScope: AllocationScope?

    /// Runs `body` and attributes to a fresh ``AllocationScope`` every tensor storage allocated
    /// inside it (in this task, including nested calls). Benchmarks and tests use it to measure
    /// their own memory while other work runs concurrently.
    public static func measuring<R>(_ body: (AllocationScope) throws -> R) rethrows -> R {
        let scope = AllocationScope()
        return try $activeScope.withValue(scope) { try body(scope) }
    }
}
