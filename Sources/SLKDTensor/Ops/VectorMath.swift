import CSLKDKernels

// The float32 forms of exp, sigmoid and tanh over contiguous runs: C kernels compiled for the
// CPU's widest instruction set (see ``SIMDPath``). Float64 keeps the scalar Swift forms.

/// `source` and `destination` as float pointers, for a kernel that only runs when `T` is Float.
@usableFromInline @inline(__always)
func asFloats<T>(_ source: UnsafePointer<T>, _ destination: UnsafeMutablePointer<T>)
    -> (UnsafePointer<Float>, UnsafeMutablePointer<Float>) {
    (UnsafeRawPointer(source).assumingMemoryBound(to: Float.self),
     UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Float.self))
}

/// Maps a contiguous run through `floatKernel` when `T` is Float, else element by element through
/// `scalar` (Float64 keeps the scalar Swift forms).
@inlinable @inline(__always)
func mapContiguous<T: TensorScalar>(
    _ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int,
    floatKernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, scalar: (T) -> T
) {
    guard T.self == Float.self else {
        for i in 0..<count { destination[i] = scalar(source[i]) }
        return
    }
    let (s, d) = asFloats(source, destination)
    floatKernel(s, d, count)
}

extension ExpFunction {
    /// Float: within 1 ulp of the exact value, the same bits on every SIMD path (float lanes for
    /// −87 ≤ x ≤ 88, as PyTorch's Sleef exp; glibc's `expf` bit for bit outside).
    @inlinable
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int) {
        mapContiguous(source, to: destination, count: count, floatKernel: slkd_exp_f32, scalar: apply)
    }
}

extension SigmoidFunction {
    /// Float: the scalar form's operations on the float exp of −|x| that `Tensor.exp` uses in
    /// [−87, 88] (within 2.5 ulp, as the scalar form; the same bits on every SIMD path).
    @inlinable
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int) {
        mapContiguous(source, to: destination, count: count, floatKernel: slkd_sigmoid_f32, scalar: apply)
    }
}

extension TanhFunction {
    /// Float: the C kernel, in float lanes with compensated steps (within 1 ulp; glibc's `tanhf` is
    /// scalar and was a quarter of the MLP benchmark).
    @inlinable
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int) {
        mapContiguous(source, to: destination, count: count, floatKernel: slkd_tanh_f32, scalar: apply)
    }
}
