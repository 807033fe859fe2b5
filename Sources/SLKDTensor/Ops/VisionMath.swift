// Small building blocks shared by the vision kernels (their products go through `ParallelGEMM`):
// SIMD dot products and the "which outputs see in-range inputs" arithmetic of convolutions.

@usableFromInline
enum VisionMath {
    /// The outputs `o` in `0..<outCount` whose input `o·stride + offset` lies in `0..<inCount`.
    @inlinable
    static func validRange(inCount: Int, outCount: Int, stride: Int, offset: Int) -> Range<Int> {
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let last = inCount - 1 - offset
        if last < 0 { return 0..<0 }
        let hi = Swift.min(outCount, last / stride + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Σ a[i]·b[i] with eight independent accumulators (a plain `+=` loop does not vectorise
    /// under strict floating-point ordering).
    @inlinable
    static func dot<T: TensorScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ n: Int) -> T {
        var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0, s4: T = 0, s5: T = 0, s6: T = 0, s7: T = 0
        var i = 0
        while i + 8 <= n {
            s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]
            s4 += a[i + 4] * b[i + 4]; s5 += a[i + 5] * b[i + 5]; s6 += a[i + 6] * b[i + 6]; s7 += a[i + 7] * b[i + 7]
            i += 8
        }
        while i < n { s0 += a[i] * b[i]; i += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    /// (Σ g[i]·x[i−1], Σ g[i]·x[i], Σ g[i]·x[i+1]) for i in `1..<n−1`: the three horizontal taps of
    /// a 3-wide kernel's weight gradient in one pass over a row, in SIMD for `Float`.
    @inlinable
    static func dot3<T: TensorScalar>(_ g: UnsafePointer<T>, _ x: UnsafePointer<T>, _ n: Int) -> (T, T, T) {
        var i = 1
        var a0: T = 0, a1: T = 0, a2: T = 0
        if T.self == Float.self {
            let gf = UnsafeRawPointer(g), xf = UnsafeRawPointer(x)
            var v0 = SIMD8<Float>(), v1 = SIMD8<Float>(), v2 = SIMD8<Float>()
            while i + 8 <= n - 1 {
                let gv = gf.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                v0 += gv * xf.loadUnaligned(fromByteOffset: (i - 1) * 4, as: SIMD8<Float>.self)
                v1 += gv * xf.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                v2 += gv * xf.loadUnaligned(fromByteOffset: (i + 1) * 4, as: SIMD8<Float>.self)
                i += 8
            }
            a0 = T(v0.sum()); a1 = T(v1.sum()); a2 = T(v2.sum())
        }
        while i < n - 1 {
            a0 += g[i] * x[i - 1]; a1 += g[i] * x[i]; a2 += g[i] * x[i + 1]
            i += 1
        }
        return (a0, a1, a2)
    }

    /// Σ a[i] with eight independent accumulators.
    @inlinable
    static func sum<T: TensorScalar>(_ a: UnsafePointer<T>, _ n: Int) -> T {
        var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0, s4: T = 0, s5: T = 0, s6: T = 0, s7: T = 0
        var i = 0
        while i + 8 <= n {
            s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]
            s4 += a[i + 4]; s5 += a[i + 5]; s6 += a[i + 6]; s7 += a[i + 7]
            i += 8
        }
        while i < n { s0 += a[i]; i += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    /// y[i] += alpha · x[i].
    @inlinable
    static func axpy<T: TensorScalar>(_ alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        for i in 0..<n { y[i] += alpha * x[i] }
    }
}

extension Tensor {
    /// Checks that all given tensors are floating point of one dtype and returns it.
    static func visionFloatType(_ op: String, _ tensors: Tensor?...) -> DType {
        let present = tensors.compactMap { $0 }
        let dtype = present[0].dtype
        precondition(dtype.isFloatingPoint, "\(op) needs floating-point tensors, got \(dtype)")
        for t in present { precondition(t.dtype == dtype, "\(op): dtypes differ (\(dtype) and \(t.dtype))") }
        return dtype
    }
}
