#if canImport(Glibc)
import Glibc
#endif

/// Settings of the C allocator for commands whose memory is a few large arrays per input.
enum SystemAllocator {
    /// Makes glibc serve every block of 128 KiB or more with its own `mmap` and return it to the
    /// system when freed.
    ///
    /// glibc starts with that threshold but raises it to the size of each large block freed (up
    /// to 32 MiB); from then on blocks of that size come from the heap, and once freed they stay
    /// resident and fragment it. `slkd iqa` frees and reallocates image-sized float64 planes
    /// (8 bytes a pixel) for every metric, so its peak resident set held about 5 bytes a pixel
    /// of freed memory (21.7 bytes a grey pixel against 16.3 with the threshold fixed, measured
    /// on 1024² and 2048² images). Setting the threshold explicitly turns the adjustment off
    /// (`mallopt(3)`). `mallopt` is looked up at run time because Swift's Glibc module does not
    /// export `<malloc.h>`; elsewhere (another C library) this does nothing.
    static func returnLargeBlocksWhenFreed() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // RTLD_DEFAULT is the null handle in glibc: search every loaded object.
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in <malloc.h>
        _ = mallopt(mmapThreshold, 128 << 10)
        #endif
    }
}
