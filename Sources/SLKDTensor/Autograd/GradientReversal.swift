extension Tensor {
    /// The identity in the forward pass whose backward multiplies the incoming gradient by
    /// −`scale` (Ganin and Lempitsky's gradient reversal layer): what lies before it climbs the
    /// gradient that what lies after it descends. DFKD uses it to train its generator against the
    /// student in the same backward pass (Docs/Method.md#dfkd).
    ///
    /// ```swift
    /// let u = x.gradientReversed(scale: 2)   // u == x; ∂L/∂x = −2 · ∂L/∂u
    /// ```
    public func gradientReversed(scale: Double = 1) -> Tensor {
        precondition(scale.isFinite && scale >= 0, "gradient reversal scale must be finite and non-negative, got \(scale)")
        return gradientReversed { scale }
    }

    /// ``gradientReversed(scale:)`` with a scale read when the gradient is computed, for a scale
    /// that depends on values computed after this point of the forward pass (DFKD's
    /// w_adv·N / (1 + ℓ)). A non-finite scale gives a non-finite gradient (the trainer skips
    /// such a step).
    public func gradientReversed(scale: @escaping () -> Double) -> Tensor {
        Tensor.differentiable(value: self, inputs: [self], name: "gradientReversed") { g in
            [g * -scale()]
        }
    }
}
