/// Restormer (Zamir et al., CVPR 2022; `restormer_arch.py`): a four-level U-Net of transformer
/// blocks with channel attention (MDTA) and gated feed-forward (GDFN), plus refinement blocks at
/// full resolution and a global residual.
///
/// ```
/// f1 = patch_embed(x)                              C   @H
/// e1 = encoder_level1(f1)                          C   @H
/// e2 = encoder_level2(down1_2(e1))                 2C  @H/2
/// e3 = encoder_level3(down2_3(e2))                 4C  @H/4
/// l  = latent(down3_4(e3))                         8C  @H/8
/// d3 = decoder_level3(reduce_chan_level3(cat[up4_3(l), e3]))   4C
/// d2 = decoder_level2(reduce_chan_level2(cat[up3_2(d3), e2]))  2C
/// d1 = decoder_level1(cat[up2_1(d2), e1])          2C  @H (no 1×1 reduction)
/// r  = refinement(d1)
/// out = output(r) + x          (dual-pixel: output(r + skip_conv(f1)), no residual)
/// ```
/// Parameter keys equal the official `state_dict` keys, so BasicSR checkpoints load as they are.
/// Stage outputs are recorded under the official module names (``featureNames``).
public final class Restormer: Module, RestorationModel {
    public let configuration: Configuration

    @Submodule(key: "patch_embed") public var patchEmbed: OverlapPatchEmbed
    @Submodule(key: "encoder_level1") public var encoderLevel1: Sequential
    @Submodule(key: "down1_2") public var down1To2: Downsample
    @Submodule(key: "encoder_level2") public var encoderLevel2: Sequential
    @Submodule(key: "down2_3") public var down2To3: Downsample
    @Submodule(key: "encoder_level3") public var encoderLevel3: Sequential
    @Submodule(key: "down3_4") public var down3To4: Downsample
    public var latent: Sequential
    @Submodule(key: "up4_3") public var up4To3: Upsample
    @Submodule(key: "reduce_chan_level3") public var reduceChannelsLevel3: Conv2d
    @Submodule(key: "decoder_level3") public var decoderLevel3: Sequential
    @Submodule(key: "up3_2") public var up3To2: Upsample
    @Submodule(key: "reduce_chan_level2") public var reduceChannelsLevel2: Conv2d
    @Submodule(key: "decoder_level2") public var decoderLevel2: Sequential
    @Submodule(key: "up2_1") public var up2To1: Upsample
    @Submodule(key: "decoder_level1") public var decoderLevel1: Sequential
    public var refinement: Sequential
    /// Dual-pixel defocus deblurring only: 1×1 C → 2C from the patch embedding to the refinement output.
    @Submodule(key: "skip_conv") public var skipConv: Conv2d?
    public var output: Conv2d

    /// A freshly initialised network (PyTorch's default initialisation of each layer).
    public init(_ configuration: Configuration = .restormer, using generator: inout RandomGenerator) {
        do { try configuration.validate() } catch { preconditionFailure("\(error)") }
        self.configuration = configuration
        let cfg = configuration, dim = cfg.dim
        func level(_ count: Int, _ channels: Int, _ heads: Int, _ g: inout RandomGenerator) -> Sequential {
            Sequential((0..<count).map { _ in
                RestormerTransformerBlock(dim: channels, numHeads: heads, ffnExpansionFactor: cfg.ffnExpansionFactor,
                                          bias: cfg.bias, layerNormType: cfg.layerNormType, using: &g)
            })
        }
        // Built in the official registration order, so a seeded generator walks the layers as PyTorch does.
        // The official constructor calls OverlapPatchEmbed(inp_channels, dim) without `bias`, so the
        // patch embedding never has one, whatever `bias` says (Docs/Method.md#bias-and-normalisation).
        let patchEmbed = OverlapPatchEmbed(inChannels: cfg.inputChannels, dim: dim, bias: false, using: &generator)
        let e1 = level(cfg.numBlocks[0], dim, cfg.heads[0], &generator)
        let d12 = Downsample(dim, using: &generator)
        let e2 = level(cfg.numBlocks[1], 2 * dim, cfg.heads[1], &generator)
        let d23 = Downsample(2 * dim, using: &generator)
        let e3 = level(cfg.numBlocks[2], 4 * dim, cfg.heads[2], &generator)
        let d34 = Downsample(4 * dim, using: &generator)
        latent = level(cfg.numBlocks[3], 8 * dim, cfg.heads[3], &generator)
        let u43 = Upsample(8 * dim, using: &generator)
        let r3 = Conv2d(8 * dim, 4 * dim, kernelSize: 1, bias: cfg.bias, using: &generator)
        let dl3 = level(cfg.numBlocks[2], 4 * dim, cfg.heads[2], &generator)
        let u32 = Upsample(4 * dim, using: &generator)
        let r2 = Conv2d(4 * dim, 2 * dim, kernelSize: 1, bias: cfg.bias, using: &generator)
        let dl2 = level(cfg.numBlocks[1], 2 * dim, cfg.heads[1], &generator)
        let u21 = Upsample(2 * dim, using: &generator)
        let dl1 = level(cfg.numBlocks[0], 2 * dim, cfg.heads[0], &generator)
        refinement = level(cfg.numRefinementBlocks, 2 * dim, cfg.heads[0], &generator)
        let skip = cfg.dualPixelTask ? Conv2d(dim, 2 * dim, kernelSize: 1, bias: cfg.bias, using: &generator) : nil
        output = Conv2d(2 * dim, cfg.outputChannels, kernelSize: 3, padding: 1, bias: cfg.bias, using: &generator)
        super.init()
        self.patchEmbed = patchEmbed
        encoderLevel1 = e1
        down1To2 = d12
        encoderLevel2 = e2
        down2To3 = d23
        encoderLevel3 = e3
        down3To4 = d34
        up4To3 = u43
        reduceChannelsLevel3 = r3
        decoderLevel3 = dl3
        up3To2 = u32
        reduceChannelsLevel2 = r2
        decoderLevel2 = dl2
        up2To1 = u21
        decoderLevel1 = dl1
        skipConv = skip
    }

    /// A freshly initialised network from a seed.
    public convenience init(_ configuration: Configuration = .restormer, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        self.init(configuration, using: &generator)
    }

    // MARK: RestorationModel

    public static let stageNames = ["patch_embed", "encoder_level1", "encoder_level2", "encoder_level3", "latent",
                                    "decoder_level3", "decoder_level2", "decoder_level1", "refinement"]

    public var featureNames: [String] { Self.stageNames }
    public var encoderTaps: [String] { ["encoder_level1", "encoder_level2", "encoder_level3", "latent"] }
    public var decoderTaps: [String] { ["decoder_level3", "decoder_level2", "decoder_level1", "refinement"] }
    /// Three 2× downsamplings.
    public var sizeMultiple: Int { 8 }
    public var inputChannels: Int { configuration.inputChannels }

    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input, features: []).image }

    public func forward(_ input: Tensor, features: Set<String>) -> ModelOutput {
        precondition(input.rank == 4 && input.shape[1] == configuration.inputChannels,
                     "Restormer expects N×\(configuration.inputChannels)×H×W input, got \(input.shape)")
        precondition(input.shape[2] % sizeMultiple == 0 && input.shape[3] % sizeMultiple == 0,
                     "Restormer input height and width must be multiples of \(sizeMultiple), got \(input.shape[2])×\(input.shape[3]) (pad first)")
        var rec = FeatureRecorder(features)
        let f1 = rec.record("patch_embed", patchEmbed(input))
        let d1 = unet(f1, recording: &rec)
        let r = rec.record("refinement", refinement(d1))
        let image: Tensor
        if let skipConv {
            image = output(r + skipConv(f1))
        } else {
            image = output(r) + input
        }
        return ModelOutput(image: image, features: rec.features)
    }

    /// The encoder–decoder between the patch embedding and the refinement.
    private var unet: FourLevelUNet<Sequential> {
        FourLevelUNet(encoders: [encoderLevel1, encoderLevel2, encoderLevel3, latent],
                      downsamples: [down1To2, down2To3, down3To4], upsamples: [up4To3, up3To2, up2To1],
                      channelReductions: [reduceChannelsLevel3, reduceChannelsLevel2],
                      decoders: [decoderLevel3, decoderLevel2, decoderLevel1]) { level, x in level(x) }
    }
}
