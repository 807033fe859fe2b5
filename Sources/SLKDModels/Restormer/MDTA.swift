// MDTA, Restormer's `Attention` (`restormer_arch.py`; Zamir et al. 2022, §3.1). Keys follow the
// official state_dict.

/// MDTA, Multi-Dconv head Transposed Attention (§3.1): attention across channels instead of
/// pixels, so its cost is linear in H·W.
///
/// `qkv` 1×1 → `qkv_dwconv` 3×3 depthwise → q, k, v per head (c = C/heads channels of H·W
/// pixels) → q, k L2-normalised over pixels → softmax((q·kᵀ)·temperature) (c×c) → ·v →
/// `project_out` 1×1. Keys `temperature [heads,1,1]`, `qkv`, `qkv_dwconv`, `project_out`.
public final class MultiDconvHeadTransposedAttention: Module, UnaryLayer {
    public let numHeads: Int
    @Parameter public var temperature: Tensor
    public let qkv: Conv2d
    @Submodule(key: "qkv_dwconv") public var qkvDwconv: Conv2d
    @Submodule(key: "project_out") public var projectOut: Conv2d

    public init(dim: Int, numHeads: Int, bias: Bool, using generator: inout RandomGenerator) {
        precondition(dim % numHeads == 0, "MDTA: \(dim) channels do not split into \(numHeads) heads")
        self.numHeads = numHeads
        temperature = .ones([numHeads, 1, 1])
        qkv = Conv2d(dim, 3 * dim, kernelSize: 1, bias: bias, using: &generator)
        super.init()
        qkvDwconv = Conv2d(3 * dim, 3 * dim, kernelSize: 3, padding: 1, groups: 3 * dim, bias: bias, using: &generator)
        projectOut = Conv2d(dim, dim, kernelSize: 1, bias: bias, using: &generator)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // F.normalize of q and k, q·kᵀ, temperature, softmax and ·v in one kernel per head, on
        // the q, k, v channel thirds of the one convolution output.
        projectOut(Tensor.restormerTransposedAttention(qkvDwconv(qkv(x)), heads: numHeads, temperature: temperature))
    }
}
