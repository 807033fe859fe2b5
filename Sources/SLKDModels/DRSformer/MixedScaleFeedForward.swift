// DRSformer's Mixed-Scale Feed-forward Network (MSFN, `FeedForward` in DRSformer_arch.py): two
// parallel depthwise paths (3×3 and 5×5) whose halves are crossed and fused by grouped convolutions.

/// Mixed-Scale Feed-forward Network (DRSformer §3.3), hid = ⌊C·expansion⌋:
///
/// ```
/// x = project_in (1×1, C → 2hid)
/// a3, b3 = chunk(relu(dwconv3x3 (x)))        a5, b5 = chunk(relu(dwconv5x5 (x)))
/// x1 = relu(dwconv3x3_1(cat[a3, a5]))         x2 = relu(dwconv5x5_1(cat[b3, b5]))
/// out = project_out (1×1, cat[x1, x2]: 2hid → C)
/// ```
/// `dwconv3x3_1` / `dwconv5x5_1` are 2hid → hid convolutions with hid groups: output j sees input
/// channels 2j and 2j+1 of the concatenation.
public final class MixedScaleFeedForward: Module, UnaryLayer {
    @Submodule(key: "project_in") public var projectIn: Conv2d
    @Submodule(key: "dwconv3x3") public var depthwise3: Conv2d
    @Submodule(key: "dwconv5x5") public var depthwise5: Conv2d
    @Submodule(key: "dwconv3x3_1") public var grouped3: Conv2d
    @Submodule(key: "dwconv5x5_1") public var grouped5: Conv2d
    @Submodule(key: "project_out") public var projectOut: Conv2d

    public let hiddenFeatures: Int

    public init(dim: Int, expansion: Double, bias: Bool, using generator: inout RandomGenerator) {
        let hid = Int(Double(dim) * expansion)
        hiddenFeatures = hid
        let pIn = Conv2d(dim, 2 * hid, kernelSize: 1, bias: bias, using: &generator)
        let d3 = Conv2d(2 * hid, 2 * hid, kernelSize: 3, padding: 1, groups: 2 * hid, bias: bias, using: &generator)
        let d5 = Conv2d(2 * hid, 2 * hid, kernelSize: 5, padding: 2, groups: 2 * hid, bias: bias, using: &generator)
        let g3 = Conv2d(2 * hid, hid, kernelSize: 3, padding: 1, groups: hid, bias: bias, using: &generator)
        let g5 = Conv2d(2 * hid, hid, kernelSize: 5, padding: 2, groups: hid, bias: bias, using: &generator)
        let pOut = Conv2d(2 * hid, dim, kernelSize: 1, bias: bias, using: &generator)
        super.init()
        (projectIn, depthwise3, depthwise5, grouped3, grouped5, projectOut) = (pIn, d3, d5, g3, g5, pOut)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // The two depthwise paths, crossed and fused by the grouped convolutions, as one op: without
        // a graph it writes each convolution into its concatenation in place.
        projectOut(Tensor.mixedScaleCrossing(projectIn(x), depthwise3x3: depthwise3, depthwise5x5: depthwise5,
                                             grouped3x3: grouped3, grouped5x5: grouped5))
    }
}
