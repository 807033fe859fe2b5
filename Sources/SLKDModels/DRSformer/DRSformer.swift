// DRSformer (Chen et al., "Learning A Sparse Transformer Network for Effective Image Deraining",
// CVPR 2023; `DRSformer_arch.py`): Restormer's four-level U-Net with sparse transformer blocks
// (TKSA + MSFN) and the MEFC cell after the patch embedding and as the refinement stage.

/// DRSformer: f1 = patch_embed(x); e1 = encoder_level1(encoder_level0(f1)); the Restormer
/// encoder–decoder (skip concatenations, `reduce_chan_level3/2`, no reduction at level 1);
/// out = output(refinement(d1)) + x, with `encoder_level0` and `refinement` the MEFC cells.
///
/// Without MEFC (`Configuration.mefc == false`, the official `DRSformer_arch_200L+SPA.py` used for
/// Rain200L and SPA-Data) both cells are absent; the `refinement` feature is then `decoder_level1`'s
/// output, which is what feeds `output`.
public final class DRSformer: Module, RestorationModel {
    public let configuration: Configuration

    @Submodule(key: "patch_embed") public var patchEmbed: OverlapPatchEmbed
    @Submodule(key: "encoder_level0") public var encoderLevel0: MixtureOfExpertsFeatureCompensator?
    @Submodule(key: "encoder_level1") public var encoderLevel1: [SparseTransformerBlock]
    @Submodule(key: "down1_2") public var down1to2: Downsample
    @Submodule(key: "encoder_level2") public var encoderLevel2: [SparseTransformerBlock]
    @Submodule(key: "down2_3") public var down2to3: Downsample
    @Submodule(key: "encoder_level3") public var encoderLevel3: [SparseTransformerBlock]
    @Submodule(key: "down3_4") public var down3to4: Downsample
    @Submodule(key: "latent") public var latent: [SparseTransformerBlock]
    @Submodule(key: "up4_3") public var up4to3: Upsample
    @Submodule(key: "reduce_chan_level3") public var reduceChannelsLevel3: Conv2d
    @Submodule(key: "decoder_level3") public var decoderLevel3: [SparseTransformerBlock]
    @Submodule(key: "up3_2") public var up3to2: Upsample
    @Submodule(key: "reduce_chan_level2") public var reduceChannelsLevel2: Conv2d
    @Submodule(key: "decoder_level2") public var decoderLevel2: [SparseTransformerBlock]
    @Submodule(key: "up2_1") public var up2to1: Upsample
    @Submodule(key: "decoder_level1") public var decoderLevel1: [SparseTransformerBlock]
    @Submodule(key: "refinement") public var refinement: MixtureOfExpertsFeatureCompensator?
    @Submodule(key: "output") public var output: Conv2d

    public convenience init(_ configuration: Configuration = .drsformer, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        self.init(configuration, using: &generator)
    }

    public init(_ configuration: Configuration, using g: inout RandomGenerator) {
        let cfg = configuration
        precondition(cfg.numBlocks.count == 4 && cfg.heads.count == 4, "DRSformer needs 4 num_blocks and 4 heads")
        self.configuration = cfg
        let dim = cfg.dim, ln = cfg.layerNormType.kind
        func level(_ width: Int, _ blocks: Int, _ heads: Int) -> [SparseTransformerBlock] {
            (0..<blocks).map { _ in
                SparseTransformerBlock(dim: width, heads: heads, expansion: cfg.ffnExpansionFactor, bias: cfg.bias,
                                       layerNorm: ln, using: &g)
            }
        }
        // Built in the official constructor order, so a seed gives the same draws order as PyTorch's.
        let patchEmbed = OverlapPatchEmbed(inChannels: cfg.inputChannels, dim: dim, bias: false, using: &g)
        let level0 = cfg.mefc ? MixtureOfExpertsFeatureCompensator(dim: dim, steps: cfg.mefcSteps, using: &g) : nil
        let e1 = level(dim, cfg.numBlocks[0], cfg.heads[0])
        let d12 = Downsample(dim, using: &g)
        let e2 = level(dim * 2, cfg.numBlocks[1], cfg.heads[1])
        let d23 = Downsample(dim * 2, using: &g)
        let e3 = level(dim * 4, cfg.numBlocks[2], cfg.heads[2])
        let d34 = Downsample(dim * 4, using: &g)
        let lat = level(dim * 8, cfg.numBlocks[3], cfg.heads[3])
        let u43 = Upsample(dim * 8, using: &g)
        let r3 = Conv2d(dim * 8, dim * 4, kernelSize: 1, bias: cfg.bias, using: &g)
        let dec3 = level(dim * 4, cfg.numBlocks[2], cfg.heads[2])
        let u32 = Upsample(dim * 4, using: &g)
        let r2 = Conv2d(dim * 4, dim * 2, kernelSize: 1, bias: cfg.bias, using: &g)
        let dec2 = level(dim * 2, cfg.numBlocks[1], cfg.heads[1])
        let u21 = Upsample(dim * 2, using: &g)
        let dec1 = level(dim * 2, cfg.numBlocks[0], cfg.heads[0])
        let refine = cfg.mefc ? MixtureOfExpertsFeatureCompensator(dim: dim * 2, steps: cfg.mefcSteps, using: &g) : nil
        let out = Conv2d(dim * 2, cfg.outputChannels, kernelSize: 3, padding: 1, bias: cfg.bias, using: &g)
        super.init()
        self.patchEmbed = patchEmbed
        encoderLevel0 = level0
        encoderLevel1 = e1
        down1to2 = d12
        encoderLevel2 = e2
        down2to3 = d23
        encoderLevel3 = e3
        down3to4 = d34
        latent = lat
        up4to3 = u43
        reduceChannelsLevel3 = r3
        decoderLevel3 = dec3
        up3to2 = u32
        reduceChannelsLevel2 = r2
        decoderLevel2 = dec2
        up2to1 = u21
        decoderLevel1 = dec1
        refinement = refine
        output = out
    }

    // MARK: RestorationModel

    public var featureNames: [String] {
        ["patch_embed"] + (configuration.mefc ? ["encoder_level0"] : [])
            + ["encoder_level1", "encoder_level2", "encoder_level3", "latent",
               "decoder_level3", "decoder_level2", "decoder_level1", "refinement"]
    }
    public var encoderTaps: [String] { ["encoder_level1", "encoder_level2", "encoder_level3", "latent"] }
    public var decoderTaps: [String] { ["decoder_level3", "decoder_level2", "decoder_level1", "refinement"] }
    public var sizeMultiple: Int { 8 }
    public var inputChannels: Int { configuration.inputChannels }

    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input, features: []).image }

    public func forward(_ input: Tensor, features: Set<String>) -> ModelOutput {
        precondition(input.rank == 4 && input.shape[1] == configuration.inputChannels,
                     "DRSformer expects B×\(configuration.inputChannels)×H×W, got \(input.shape)")
        precondition(input.shape[2] % sizeMultiple == 0 && input.shape[3] % sizeMultiple == 0,
                     "DRSformer needs H and W divisible by \(sizeMultiple), got \(input.shape[2])×\(input.shape[3])")
        var rec = FeatureRecorder(features)
        var x = rec.record("patch_embed", patchEmbed(input))
        if let encoderLevel0 { x = rec.record("encoder_level0", encoderLevel0(x)) }
        var d1 = unet(x, recording: &rec)
        if let refinement { d1 = refinement(d1) }
        d1 = rec.record("refinement", d1)
        return ModelOutput(image: output(d1) + input, features: rec.features)
    }

    /// The encoder–decoder between the MEFC cells.
    private var unet: FourLevelUNet<[SparseTransformerBlock]> {
        FourLevelUNet(encoders: [encoderLevel1, encoderLevel2, encoderLevel3, latent],
                      downsamples: [down1to2, down2to3, down3to4], upsamples: [up4to3, up3to2, up2to1],
                      channelReductions: [reduceChannelsLevel3, reduceChannelsLevel2],
                      decoders: [decoderLevel3, decoderLevel2, decoderLevel1]) { blocks, x in blocks.reduce(x) { $1($0) } }
    }
}
