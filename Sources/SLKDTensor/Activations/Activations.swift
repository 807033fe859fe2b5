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
    ///
    /// One pass each way, split across threads: x > 0 ? x : x·slope, and for the gradient
    /// x > 0 ? g : g·slope (PyTorch's rule: slope at 0 and for NaN inputs). Before, a mask, a
    /// `where` over a broadcast scalar (one run, so one thread) and a product took five passes.
    public func leakyReLU(slope: Double = 0.01) -> Tensor {
        let x = detached().contiguous()
        let y = Tensor.leakyReLUPass(x, x, slope: slope)
        return Autograd.record(y, inputs: [self]) { g in [Tensor.leakyReLUPass(g.contiguous(), x, slope: slope)] }
    }

    /// values[i] where sign[i] > 0, values[i]·slope elsewhere (both contiguous, same shape).
    private static func leakyReLUPass(_ values: Tensor, _ sign: Tensor, slope: Double) -> Tensor {
        precondition(values.shape == sign.shape && values.dtype == sign.dtype,
                     "leakyReLU: gradient \(values.shape) does not match the input \(sign.shape)")
        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pv = values.basePointer(T.self), ps = sign.basePointer(T.self), s = T(slope)
            return Tensor.make(values.shape, T.self) { out in
                let dst = out.baseAddress!
                Parallel.forChunks(out.count, grain: elementwiseGrain) { range in
                    for i in range { dst[i] = ps[i] > 0 ? pv[i] : pv[i] * s }
                }
            }
        }
        return values.dtype.withFloatType("leakyReLU") { run($0) }
    }

    /// gelu(x₁)·x₂ in one pass, Restormer's GDFN gate (`F.gelu(x1) * x2`), with broadcasting.
    public static func geluGate(_ x1: Tensor, _ x2: Tensor) -> Tensor {
        let (a, b) = (x1.detached(), x2.detached())
        let y = zip(a, b, GELUGateFunction.self)
        let need1 = x1.requiresGrad, need2 = x2.requiresGrad
        return Autograd.record(y, inputs: [x1, x2]) { g in
            if need1 && need2, let (ga, gb) = geluGateBackwardFloat(g, a, b) { return [ga, gb] }
            let (ga, gb) = geluGateGradientsTwoStep(g, a, b, needA: need1, needB: need2)
            return [ga, gb]
        }
    }

    /// The gate's gradients by the two-step rule, (g·gelu′(a))·b and g·gelu(a), each only when needed
    /// (any dtype, with broadcasting).
    static func geluGateGradientsTwoStep(_ g: Tensor, _ a: Tensor, _ b: Tensor, needA: Bool = true,
                                         needB: Bool = true) -> (Tensor?, Tensor?) {
        (needA ? zip(g, a, GELUBackwardFunction.self) * b : nil, needB ? g * a.map(GELUForGateFunction.self) : nil)
    }

    /// Both gate gradients in one pass of the C kernel (`slkd_gelu_gate_backward_f32`, the same
    /// bits as the two-step rule above) for Float tensors of one shape, each made of contiguous
    /// runs along axis 0, as the two channel halves of `geluGateOverChannels` are; nil otherwise.
    /// Unfused, the backward read g and a twice, computed erf twice and wrote two temporaries.
    static func geluGateBackwardFloat(_ g: Tensor, _ a: Tensor, _ b: Tensor) -> (Tensor, Tensor)? {
        guard let run = fusedGateRun(g, a, b) else { return nil }
        let (ga, gaBuffer) = Tensor.uninitialized(g.shape, Float.self)
        let (gb, gbBuffer) = Tensor.uninitialized(g.shape, Float.self)
        fusedGateBackward(g, a, b, run: run, ga: gaBuffer.baseAddress!, gb: gbBuffer.baseAddress!, outputStride: run)
        return (ga, gb)
    }

    /// The gradient of `geluGateOverChannels` with respect to its whole input, ∂a in the first
    /// half of the channels and ∂b in the second, written by the fused kernel straight into one
    /// tensor; nil when the layout does not allow it. Without it the two halves' gradients were
    /// each padded with zeros to the full input and then added.
    static func geluGateBackwardOverChannels(_ g: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor? {
        guard g.rank == 4, let run = fusedGateRun(g, a, b) else { return nil }
        var shape = g.shape
        shape[1] *= 2
        let (gx, buffer) = Tensor.uninitialized(shape, Float.self)
        let base = buffer.baseAddress!
        fusedGateBackward(g, a, b, run: run, ga: base, gb: base + run, outputStride: 2 * run)
        return gx
    }

    /// The run length along axis 0 when g, a and b are Float of one non-empty shape and each is
    /// contiguous after its first axis; nil otherwise.
    private static func fusedGateRun(_ g: Tensor, _ a: Tensor, _ b: Tensor) -> Int? {
        let operands = [g, a, b]
        guard operands.allSatisfy({ $0.dtype == .float32 && $0.shape == g.shape }), g.rank >= 1, g.count > 0,
              operands.allSatisfy({ Shape.isContiguous(shape: Array($0.shape.dropFirst()), strides: Array($0.strides.dropFirst())) })
        else { return nil }
        return g.count / g.shape[0]
    }

    /// The fused kernel over every run: image o's ∂a goes to ga + o·outputStride, its ∂b to
    /// gb + o·outputStride.
    private static func fusedGateBackward(_ g: Tensor, _ a: Tensor, _ b: Tensor, run: Int, ga: UnsafeMutablePointer<Float>,
                                          gb: UnsafeMutablePointer<Float>, outputStride: Int) {
        let (pg, pa, pb) = (UnsafePointer(g.basePointer(Float.self)), UnsafePointer(a.basePointer(Float.self)),
                            UnsafePointer(b.basePointer(Float.self)))
        let (sg, sa, sb) = (g.strides[0], a.strides[0], b.strides[0])
        // Blocks of 16 K elements: large enough to amortise a chunk, small enough to split any run.
        let block = 16_384, blocksPerRun = (run + block - 1) / block
        withExtendedLifetime((g, a, b)) {
            Parallel.forChunks(g.shape[0] * blocksPerRun) { tasks in
                for t in tasks {
                    let o = t / blocksPerRun, start = (t % blocksPerRun) * block, count = Swift.min(block, run - start)
                    slkd_gelu_gate_backward_f32(pg + o * sg + start, pa + o * sa + start, pb + o * sb + start,
                                                ga + o * outputStride + start, gb + o * outputStride + start, count)
                }
            }
        }
    }
}
