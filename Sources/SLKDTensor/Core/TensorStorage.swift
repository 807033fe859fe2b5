/// The immutable, reference-counted buffer behind one or more ``Tensor`` views.
///
/// A kernel allocates a fresh storage, fills it once, and wraps it; nothing writes to a storage
/// after that. This is what gives `Tensor` value semantics while views share memory.
@usableFromInline
final class TensorStorage: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutableRawPointer
    @usableFromInline let count: Int
    @usableFromInline let dtype: DType
    /// The measuring scope this storage was allocated in, credited when it is freed.
    let scope: AllocationScope?

    /// Allocates uninitialised storage for `count` elements (64-byte aligned for SIMD and BLAS).
    @usableFromInline
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        self.pointer = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(count, 1) * dtype.byteSize, alignment: 64)
        MemoryTracker.shared.allocated(Swift.max(count, 1) * dtype.byteSize)
        scope = MemoryTracker.activeScope
        scope?.allocated(Swift.max(count, 1) * dtype.byteSize)
    }

    deinit {
        MemoryTracker.shared.freed(Swift.max(count, 1) * dtype.byteSize)
        scope?.freed(Swift.max(count, 1) * dtype.byteSize)
        pointer.deallocate()
    }

    @inlinable
    func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}
