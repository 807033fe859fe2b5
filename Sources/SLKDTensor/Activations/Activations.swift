import CSLKDKernels
import RealModule

// Activation functions of the restoration transformers: exact (erf) GELU as `F.gelu`, ReLU,
// LeakyReLU, and the GELU gate gelu(x₁)·x₂ (Restormer's GDFN) fused into one pass each way.

enum GELUFunction: UnaryScalarFunction {
    /// x·Φ(x) = ½·x·(1 + erf(x/√2)).
    static func apply<T: TensorScalar>(_ x: T) -> T { x * (1 + SpecialFunctions.erfForActivation(x * (1 / T.sqrt(2)))) / 2 }

    /// Float: the C kernel of the same operations (``SIMDPath``), bit for bit.
    @inlinable
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int) {
        mapContiguous(source, to: destination, count: count, floatKernel: slkd_gelu_f32, scalar: apply)
    }
}

enum GELUDerivativeFunction: UnaryScalarFunction {
    /// Φ(x) + x·φ(x). Always inlined: called per element from the GELU and gate backward maps,
    /// which only vectorise when no call is left in the loop.
    @inline(__always)
    static func apply<T: TensorScalar>(_ x: T) -> T {
        let cdf: T = (1 + SpecialFunctions.erfForActivation(x * (1 / T.sqrt(2)))) / 2
        let density: T = SpecialFunctions.expOfNonPositiveForActivation(-x * x / 2) / T.sqrt(2 * T.pi)
        return cdf + x * density
    }
}

enum GELUGateFunction: BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { GELUFunction.apply(a) * b }

    /// Float: gelu(a) by the C kernel, then times b (the same two roundings).
    @inlinable
    static func apply<T: TensorScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>,
                                       to destination: UnsafeMutablePointer<T>, count: Int) {
        GELUFunction.apply(a, to: destination, count: count)
        for i in 0..<count { destination[i] *= b[i] }
    }
}

enum GELUBackwardFunction: BinaryScalarFunction {
    /// g·gelu′(x).
    @inline(__always)
    static func apply<T: TensorScalar>(_ g: T, _ x: T) -> T { g * GELUDerivativeFunction.apply(x) }

    /// Float: the C kernel of the same operations (``SIMDPath``), bit for bit.
    @inlinable
    static func apply<T: TensorScalar>(_ g: UnsafePointer<T>, _ x: UnsafePointer<T>,
                                       to destination: UnsafeMutablePointer<T>, count: Int) {
        guard T.self == Float.self else {
            for i in 0..<count { destination[i] = apply(g[i], x[i]) }
            return
        }
        let (pg, d) = asFloats(g, destination)
        slkd_gelu_backward_f32(pg, UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), d, count)
    }
}

enum GELUForGateFunction: UnaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T) -> T { GELUFunction.apply(x) }

    @inlinable
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int) {
        GELUFunction.apply(source, to: destination, count: count)
    }
}

enum ReLUFunction: UnaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T) -> T { x > 0 ? x : 0 }
}

enum ReLUBackwardFunction: BinaryScalarFunction {
    /// g where x > 0 (PyTorch: gradient 0 at 0).
    static func apply<T: TensorScalar>(_ g: T, _ x: T) -> T { x > 0 ? g : 0 }
}

extension Tensor {
    /// GELU with the exact error function, as `F.gelu(x)` (approximate = "none").
    public func gelu() -> Tensor {
        let x = detached()
        return Autograd.record(map(GELUFunction.self), inputs: [self]) { g in [Tensor.zip(g, x, GELUBackwardFunction.self)] }
    }

    /// max(x, 0).
    public func relu() -> Tensor {
        let x = detached()
        return Autograd.record(map(ReLUFunction.self), inputs: [self]) { g in [Tensor.zip(g, x, ReLUBackwardFunction.self)] }
    }

    /// x for x > 0, slope·x otherwise, as `F.leaky_relu(x, slope)` (default 0.01 as `nn.LeakyReLU`).
    public func leakyReLU(slope: Double = 0.01) -> Tensor {
        let x = detached()
        let positive = x > 0
        let scale = Tensor.where(positive, x.onesLike(), x.scalarLike(slope))
        let y = x * scale
        return Autograd.record(y, inputs: [self]) { g in [g * scale] }
    }

    /// gelu(x₁)·x₂ in one pass, Restormer's GDFN gate (`F.gelu(x1) * x2`), with broadcasting.
    public static func geluGate(_ x1: Tensor, _ x2: Tensor) -> Tensor {
        let (a, b) = (x1.detached(), x2.detached())
        let y = zip(a, b, GELUGateFunction.self)
        let need1 = x1.requiresGrad, need2 = x2.requiresGrad
        return Autograd.record(y, inputs: [x1, x2]) { g in
            [need1 ? zip(g, a, GELUBackwardFunction.self) * b : nil,
             need2 ? g * a.map(GELUForGateFunction.self) : nil]
        }
    }
}
