import RealModule

/// Adam (Kingma & Ba, 2015) with PyTorch `torch.optim.Adam` semantics: weight decay is added
/// to the gradient (L2 regularisation); with ``decoupledWeightDecay`` it is AdamW instead.
///
/// Per parameter, with step t counted per parameter:
/// m ← m + (1−β₁)(g − m), v ← β₂v + (1−β₂)g², p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
public class Adam: Optimizer {
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Whether weight decay shrinks the parameter directly, `p ← p·(1 − lr·λ)` (AdamW,
    /// Loshchilov & Hutter 2019), rather than adding λ·p to the gradient.
    public let decoupledWeightDecay: Bool

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0, decoupledWeightDecay: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        super.init(learningRate: learningRate)
    }

    public override var stateNames: Set<String> { ["step", "exp_avg", "exp_avg_sq"] }

    public override func step(parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor]) {
        let t = Optimizer.stepCount(state) + 1
        Optimizer.makeUniquelyOwned(&parameter)
        let g = gradient.contiguous()
        var m = state.removeValue(forKey: "exp_avg") ?? Optimizer.zeroState(like: parameter)
        var v = state.removeValue(forKey: "exp_avg_sq") ?? Optimizer.zeroState(like: parameter)
        Optimizer.makeUniquelyOwned(&m)
        Optimizer.makeUniquelyOwned(&v)
        parameter.dtype.withFloatType("Adam") { kernel($0, parameter, g, m, v, step: t) }
        state["exp_avg"] = m
        state["exp_avg_sq"] = v
        state["step"] = Tensor(shape: [], indices: [t])
    }

    private func kernel<T: TensorScalar & SIMDScalar>(_: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ expAvg: Tensor,
                                                      _ expAvgSq: Tensor, step t: Int) {
        // Scalars as PyTorch computes them, in double, then used in the tensor's type.
        let biasCorrection1 = 1 - Double.pow(beta1, Double(t))
        let biasCorrection2 = 1 - Double.pow(beta2, Double(t))
        let constants = AdamConstants<T>(
            negativeStepSize: T(-(learningRate / biasCorrection1)), biasCorrection2Sqrt: T(biasCorrection2.squareRoot()),
            oneMinusBeta1: T(1 - beta1), beta1: T(beta1), beta2: T(beta2), oneMinusBeta2: T(1 - beta2), epsilon: T(epsilon),
            shrink: T(1 - learningRate * weightDecay), weightDecay: T(weightDecay),
            decoupled: decoupledWeightDecay && weightDecay != 0, coupled: !decoupledWeightDecay && weightDecay != 0,
            lerpFromStart: 1 - beta1 < 0.5)
        let p = parameter.basePointer(T.self), g = gradient.basePointer(T.self)
        let m = expAvg.basePointer(T.self), v = expAvgSq.basePointer(T.self)
        withExtendedLifetime((parameter, gradient, expAvg, expAvgSq)) {
            forEachChunk(parameter.count) { range in
                adamKernel(p, g, m, v, range, constants)
            }
        }
    }
}

struct AdamConstants<T: TensorScalar> {
    var negativeStepSize, biasCorrection2Sqrt, oneMinusBeta1, beta1, beta2, oneMinusBeta2, epsilon, shrink, weightDecay: T
    var decoupled, coupled, lerpFromStart: Bool
}

/// The fused Adam update over `range`, eight lanes at a time: one pass that reads p, g, m, v
/// and writes p, m, v (in place; each element depends only on its own index).
@inline(__always)
func adamKernel<T: TensorScalar & SIMDScalar>(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ m: UnsafeMutablePointer<T>,
                                              _ v: UnsafeMutablePointer<T>, _ range: Range<Int>, _ c: AdamConstants<T>) {
    typealias V = SIMD8<T>
    @inline(__always) func step<S: SIMD>(_ p0: S, _ g0: S, _ m0: S, _ v0: S) -> (p: S, m: S, v: S) where S.Scalar == T {
        var pi = p0, gi = g0
        if c.decoupled { pi *= c.shrink }
        if c.coupled { gi += c.weightDecay * pi }
        // lerp(m, g, 1 − β₁), in the form PyTorch's kernel picks for the weight.
        let mi = c.lerpFromStart ? m0 + c.oneMinusBeta1 * (gi - m0) : gi - (gi - m0) * c.beta1
        let vi = v0 * c.beta2 + c.oneMinusBeta2 * gi * gi
        let denominator = vi.squareRoot() / c.biasCorrection2Sqrt + c.epsilon
        return (pi + c.negativeStepSize * mi / denominator, mi, vi)
    }
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
        let r = step(UnsafeRawPointer(p + i).loadUnaligned(as: V.self), UnsafeRawPointer(g + i).loadUnaligned(as: V.self),
                     UnsafeRawPointer(m + i).loadUnaligned(as: V.self), UnsafeRawPointer(v + i).loadUnaligned(as: V.self))
        UnsafeMutableRawPointer(p + i).storeBytes(of: r.p, as: V.self)
        UnsafeMutableRawPointer(m + i).storeBytes(of: r.m, as: V.self)
        UnsafeMutableRawPointer(v + i).storeBytes(of: r.v, as: V.self)
        i += 8
    }
    while i < range.upperBound {
        let r = step(SIMD2(p[i], 0), SIMD2(g[i], 0), SIMD2(m[i], 0), SIMD2(v[i], 0))
        p[i] = r.p[0]
        m[i] = r.m[0]
        v[i] = r.v[0]
        i += 1
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch `torch.optim.AdamW`
/// semantics: `p ← p·(1 − lr·λ)` before the Adam step. PyTorch's default λ is 1e-2.
public final class AdamW: Adam {
    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 1e-2) {
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, decoupledWeightDecay: true)
    }
}
