// What the fused depthwise 3×3 ops (Restormer's GDFN gate, Uformer's LeFF GELU) share: when they
// may run fused, and their operands then.

extension Tensor {
    /// The operands of a fused depthwise 3×3 op run for inference — contiguous, with the
    /// convolution's MACs counted as `conv2d` counts them — or nil when it must run as its
    /// unfused ops instead: a graph is recorded, an operand is not Float, or rows are shorter than
    /// the kernel's two-column minimum.
    static func fusedDepthwise3x3Operands(_ input: Tensor, weight: Tensor, bias: Tensor?) -> (Tensor, Tensor, Tensor?)? {
        let recording = GradMode.isEnabled && (input.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false))
        guard !recording, input.dtype == .float32, weight.dtype == .float32, bias.map({ $0.dtype == .float32 }) ?? true,
              input.shape[3] >= 2 else { return nil }
        let x = input.contiguous(), k = weight.contiguous(), b = bias?.contiguous()
        MACCounter.record(.conv, weight: weight, x.shape[0] * weight.count * x.shape[2] * x.shape[3])
        return (x, k, b)
    }
}
