/// Stochastic gradient descent with momentum, PyTorch `torch.optim.SGD` semantics: weight decay
/// is added to the gradient, the momentum buffer starts as the first gradient, then
/// `b ← μ·b + (1 − dampening)·g`, and the step is `p ← p − lr·b` (or `g + μ·b` with Nesterov).
public final class SGD: Optimizer {
    public var momentum: Double
    public var dampening: Double
    public var weightDecay: Double
    public var nesterov: Bool

    public init(learningRate: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
                nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum needs momentum > 0 and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        super.init(learningRate: learningRate)
    }

    public override var stateNames: Set<String> { ["momentum_buffer"] }

    public override func step(parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor]) {
        Optimizer.makeUniquelyOwned(&parameter)
        let g = gradient.contiguous()
        var buffer: Tensor? = nil
        let first = state["momentum_buffer"] == nil
        if momentum != 0 {
            var b = state.removeValue(forKey: "momentum_buffer") ?? Optimizer.zeroState(like: parameter)
            Optimizer.makeUniquelyOwned(&b)
            buffer = b
        }
        parameter.dtype.withFloatType("SGD") { kernel($0, parameter, g, buffer, first: first) }
        if let buffer { state["momentum_buffer"] = buffer }
    }

    private func kernel<T: TensorScalar>(_: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ buffer: Tensor?, first: Bool) {
        let p = parameter.basePointer(T.self), g = gradient.basePointer(T.self)
        let b = buffer?.basePointer(T.self)
        let lr = T(learningRate), mu = T(momentum), keep = T(1 - dampening), wd = T(weightDecay)
        let nesterov = self.nesterov
        withExtendedLifetime((parameter, gradient, buffer)) {
            forEachChunk(parameter.count) { range in
                for i in range {
                    var d = g[i]
                    if wd != 0 { d += wd * p[i] }
                    if let b {
                        b[i] = first ? d : mu * b[i] + keep * d
                        d = nesterov ? d + mu * b[i] : b[i]
                    }
                    p[i] += -lr * d
                }
            }
        }
    }
}
