/// The reference-counted buffer behind one or more ``Tensor`` views.
///
/// A kernel allocates a fresh storage, fills it once, and wraps it. One writer comes later: an
/// optimizer step overwrites a parameter's or state's storage in place, but only when nothing
/// else holds it (`Optimizer.makeUniquelyOwned` copies first otherwise). So no holder ever sees
/// its values change, which is what gives `Tensor` value semantics while views share memory.
@usableFromInline
final class TensorStorage: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutableRawPointer
    @usableFromInline let count: Int
    @usableFromInline let dtype: DType
    /// The measuring scope this storage was allocated in, credited when it is freed.
    let scope: AllocationScope?
    /// The size of the block behind ``pointer`` (at least the elements' bytes), for the cache.
    let blockBytes: Int

    /// Allocates uninitialised storage for `count` elements (64-byte aligned for SIMD and BLAS),
    /// reusing a freed block of the same size when ``TensorMemoryCache`` holds one.
    @usableFromInline
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        (pointer, blockBytes) = TensorMemoryCache.allocate(bytes: Swift.max(count, 1) * dtype.byteSize)
        MemoryTracker.shared.allocated(Swift.max(count, 1) * dtype.byteSize)
        scope = MemoryTracker.activeScope
        scope?.allocated(Swift.max(count, 1) * dtype.byteSize)
    }

    deinit {
        MemoryTracker.shared.freed(Swift.max(count, 1) * dtype.byteSize)
        scope?.freed(Swift.max(count, 1) * dtype.byteSize)
        TensorMemoryCache.free(pointer, bytes: blockBytes)
    }

    @inlinable
    func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}
