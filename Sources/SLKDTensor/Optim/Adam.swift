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
        switch parameter.dtype {
        case .float32: kernel(Float.self, parameter, g, m, v, step: t)
        case .float64: kernel(Double.self, parameter, g, m, v, step: t)
        case .int64: preconditionFailure("Adam cannot update an int64 tensor")
        }
        state["exp_avg"] = m
        state["exp_avg_sq"] = v
        state["step"] = Tensor(shape: [], indices: [t])
    }

    private func kernel<T: TensorScalar>(_: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ expAvg: Tensor,
                                         _ expAvgSq: Tensor, step t: Int) {
        let p = parameter.basePointer(T.self), g = gradient.basePointer(T.self)
        let m = expAvg.basePointer(T.self), v = expAvgSq.basePointer(T.self)
        // Scalars as PyTorch computes them, in double, then used in the tensor's type.
        let biasCorrection1 = 1 - Double.pow(beta1, Double(t))
        let biasCorrection2 = 1 - Double.pow(beta2, Double(t))
        let negativeStepSize = T(-(learningRate / biasCorrection1))
        let biasCorrection2Sqrt = T(biasCorrection2.squareRoot())
        let oneMinusBeta1 = T(1 - beta1), beta1 = T(self.beta1), lerpLow = 1 - self.beta1 < 0.5, beta2 = T(self.beta2), oneMinusBeta2 = T(1 - self.beta2)
        let eps = T(epsilon)
        let decoupled = decoupledWeightDecay && weightDecay != 0
        let coupled = !decoupledWeightDecay && weightDecay != 0
        let shrink = T(1 - learningRate * weightDecay), wd = T(weightDecay)
        withExtendedLifetime((parameter, gradient, expAvg, expAvgSq)) {
            forEachChunk(parameter.count) { range in
                for i in range {
                    var pi = p[i], gi = g[i]
                    if decoupled { pi *= shrink }
                    if coupled { gi += wd * pi }
                    // lerp(m, g, 1 − β₁), in the form PyTorch's kernel picks for the weight.
                    let mi = lerpLow ? m[i] + oneMinusBeta1 * (gi - m[i]) : gi - (gi - m[i]) * beta1
                    let vi = v[i] * beta2 + oneMinusBeta2 * gi * gi
                    let denominator = vi.squareRoot() / biasCorrection2Sqrt + eps
                    m[i] = mi
                    v[i] = vi
                    p[i] = pi + negativeStepSize * mi / denominator
                }
            }
        }
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
