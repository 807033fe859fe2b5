// GDFN, Restormer's `FeedForward` (`restormer_arch.py`; Zamir et al. 2022, §3.2). Keys follow the
// official state_dict.

/// GDFN, Gated-Dconv Feed-forward Network (§3.2): `project_in` 1×1 C → 2·hid, 3×3 depthwise,
/// gelu(x₁)·x₂ over the two channel halves, `project_out` 1×1 hid → C; hid = Int(C·factor).
public final class GatedDconvFeedForward: Module, UnaryLayer {
    @Submodule(key: "project_in") public var projectIn: Conv2d
    public let dwconv: Conv2d
    @Submodule(key: "project_out") public var projectOut: Conv2d

    public init(dim: Int, expansionFactor: Double, bias: Bool, using generator: inout RandomGenerator) {
        let hidden = Int(Double(dim) * expansionFactor)   // Python's int(dim * ffn_expansion_factor)
        dwconv = Conv2d(2 * hidden, 2 * hidden, kernelSize: 3, padding: 1, groups: 2 * hidden, bias: bias, using: &generator)
        super.init()
        projectIn = Conv2d(dim, 2 * hidden, kernelSize: 1, bias: bias, using: &generator)
        projectOut = Conv2d(hidden, dim, kernelSize: 1, bias: bias, using: &generator)
    }

    public var hiddenChannels: Int { projectOut.inChannels }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // The depthwise convolution and the gate in one pass (the same values; two ops when a
        // graph is recorded).
        projectOut(Tensor.depthwiseConv3x3GELUGate(projectIn(x), weight: dwconv.weight, bias: dwconv.bias))
    }
}
