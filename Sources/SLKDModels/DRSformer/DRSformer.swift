// DRSformer (Chen et al., "Learning A Sparse Transformer Network for Effective Image Deraining",
// CVPR 2023; `DRSformer_arch.py`): Restormer's four-level U-Net with sparse transformer blocks
// (TKSA + MSFN) and the MEFC cell after the patch embedding and as the refinement stage.

/// The Sparse Transformer Block (STB): `x = x + TKSA(norm1(x)); x = x + MSFN(norm2(x))`.
public final class SparseTransformerBlock: Module, UnaryLayer {
    public let norm1: RestormerLayerNorm
    public let attn: TopKSparseAttention
    public let norm2: RestormerLayerNorm
    public let ffn: MixedScaleFeedForward

    public init(dim: Int, heads: Int, expansion: Double, bias: Bool, layerNorm: ChannelLayerNormKind,
                using generator: inout RandomGenerator) {
        norm1 = RestormerLayerNorm(dim, kind: layerNorm)
        attn = TopKSparseAttention(dim: dim, heads: heads, bias: bias, using: &generator)
        norm2 = RestormerLayerNorm(dim, kind: layerNorm)
        ffn = MixedScaleFeedForward(dim: dim, expansion: expansion, bias: bias, using: &generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x + attn(norm1(x))
        return y + ffn(norm2(y))
    }
}

/// DRSformer: f1 = patch_embed(x); e1 = encoder_level1(encoder_level0(f1)); the Restormer
/// encoder–decoder (skip concatenations, `reduce_chan_level3/2`, no reduction at level 1);
/// out = output(refinement(d1)) + x, with `encoder_level0` and `refinement` the MEFC cells.
///
/// Without MEFC (`Configuration.mefc == false`, the official `DRSformer_arch_200L+SPA.py` used for
/// Rain200L and SPA-Data) both cells are absent; the `refinement` feature is then `decoder_level1`'s
/// output, which is what feeds `output`.
public final class DRSformer: Module, RestorationModel {
    /// The constructor arguments, coded under the official names (a BasicSR `network_g` section
    /// decodes into it), with the official defaults for missing keys.
    public struct Configuration: Codable, Sendable, Hashable {
        /// `LayerNorm_type`.
        public enum LayerNormType: String, Codable, Sendable, Hashable {
            case withBias = "WithBias"
            case biasFree = "BiasFree"

            public var kind: ChannelLayerNormKind { self == .withBias ? .withBias : .biasFree }
        }

        public var inputChannels = 3
        public var outputChannels = 3
        public var dim = 48
        public var numBlocks = [4, 6, 6, 8]
        public var heads = [1, 2, 4, 8]
        public var ffnExpansionFactor = 2.66
        public var bias = false
        public var layerNormType = LayerNormType.withBias
        /// Steps of both MEFC cells. Not an official argument: the official code hard-codes 4; the
        /// DRS-SL student (and the golden tiny model) use 2.
        public var mefcSteps = 4
        /// Whether the MEFC cells exist (false: `DRSformer_arch_200L+SPA.py`). Not an official argument.
        public var mefc = true

        enum CodingKeys: String, CodingKey {
            case inputChannels = "inp_channels", outputChannels = "out_channels", dim
            case numBlocks = "num_blocks", heads, ffnExpansionFactor = "ffn_expansion_factor", bias
            case layerNormType = "LayerNorm_type", mefcSteps = "mefc_steps", mefc
        }

        public init(inputChannels: Int = 3, outputChannels: Int = 3, dim: Int = 48, numBlocks: [Int] = [4, 6, 6, 8],
                    heads: [Int] = [1, 2, 4, 8], ffnExpansionFactor: Double = 2.66, bias: Bool = false,
                    layerNormType: LayerNormType = .withBias, mefcSteps: Int = 4, mefc: Bool = true) {
            self.inputChannels = inputChannels
            self.outputChannels = outputChannels
            self.dim = dim
            self.numBlocks = numBlocks
            self.heads = heads
            self.ffnExpansionFactor = ffnExpansionFactor
            self.bias = bias
            self.layerNormType = layerNormType
            self.mefcSteps = mefcSteps
            self.mefc = mefc
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Configuration()
            inputChannels = try c.decodeIfPresent(Int.self, forKey: .inputChannels) ?? d.inputChannels
            outputChannels = try c.decodeIfPresent(Int.self, forKey: .outputChannels) ?? d.outputChannels
            dim = try c.decodeIfPresent(Int.self, forKey: .dim) ?? d.dim
            numBlocks = try c.decodeIfPresent([Int].self, forKey: .numBlocks) ?? d.numBlocks
            heads = try c.decodeIfPresent([Int].self, forKey: .heads) ?? d.heads
            ffnExpansionFactor = try c.decodeIfPresent(Double.self, forKey: .ffnExpansionFactor) ?? d.ffnExpansionFactor
            bias = try c.decodeIfPresent(Bool.self, forKey: .bias) ?? d.bias
            layerNormType = try c.decodeIfPresent(LayerNormType.self, forKey: .layerNormType) ?? d.layerNormType
            mefcSteps = try c.decodeIfPresent(Int.self, forKey: .mefcSteps) ?? d.mefcSteps
            mefc = try c.decodeIfPresent(Bool.self, forKey: .mefc) ?? d.mefc
            do { try validate() } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: error.message))
            }
        }

        /// Checks what the constructor assumes and the ranges of ``ConfigurationLimits``; the
        /// message names the official key.
        public func validate() throws(DRSformerConfigurationError) {
            func fail(_ message: String) -> DRSformerConfigurationError { DRSformerConfigurationError(message: message) }
            typealias L = ConfigurationLimits
            if let problem = L.fourLevelUNetProblem(inputChannels: inputChannels, outputChannels: outputChannels, dim: dim,
                                                    numBlocks: numBlocks, heads: heads, ffnExpansionFactor: ffnExpansionFactor)
                ?? L.outside("mefc_steps", mefcSteps, 1...16) {
                throw fail(problem)
            }
            // Top-k attention keeps int(c/2) entries of a head's c channels: at least one.
            for (level, (factor, h)) in zip([1, 2, 4, 8], heads).enumerated() where (dim * factor) / h < 2 {
                throw fail("heads[\(level)]: level \(level + 1)'s \(dim * factor) channels leave under 2 per head for \(h) heads")
            }
            if let problem = L.tooLarge(estimatedParameterCount) { throw fail(problem) }
        }

        /// About how many parameters the network has (its transformer blocks), for refusing absurd sizes.
        public var estimatedParameterCount: Double {
            let widths = [1, 2, 4, 8, 4, 2, 2].map { dim * $0 }
            let counts = numBlocks + [numBlocks[2], numBlocks[1], numBlocks[0]]
            let blocks = zip(widths, counts).reduce(0) { $0 + Double($1.1) * ConfigurationLimits.transformerBlockParameters(width: $1.0, expansion: ffnExpansionFactor) }
            return blocks + ConfigurationLimits.unetResamplingParameters(width: dim)
        }

        /// The teacher: official defaults, MEFC with 4 steps (33,655,424 parameters).
        public static let drsformer = Configuration()
        /// The teacher without MEFC (`DRSformer_arch_200L+SPA.py`, Rain200L / SPA-Data).
        public static let drsformerWithoutMEFC = Configuration(mefc: false)
        /// The DRS-SL student: dim 24, blocks [2,2,2,4], MEFC steps 2 (4,599,380 parameters).
        public static let drsSL = Configuration(dim: 24, numBlocks: [2, 2, 2, 4], mefcSteps: 2)
    }

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
        func run(_ blocks: [SparseTransformerBlock], _ x: Tensor) -> Tensor { blocks.reduce(x) { $1($0) } }
        var rec = FeatureRecorder(features)
        var x = rec.record("patch_embed", patchEmbed(input))
        if let encoderLevel0 { x = rec.record("encoder_level0", encoderLevel0(x)) }
        let e1 = rec.record("encoder_level1", run(encoderLevel1, x))
        let e2 = rec.record("encoder_level2", run(encoderLevel2, down1to2(e1)))
        let e3 = rec.record("encoder_level3", run(encoderLevel3, down2to3(e2)))
        let l = rec.record("latent", run(latent, down3to4(e3)))
        let d3 = rec.record("decoder_level3",
                            run(decoderLevel3, reduceChannelsLevel3(Tensor.concatenated([up4to3(l), e3], axis: 1))))
        let d2 = rec.record("decoder_level2",
                            run(decoderLevel2, reduceChannelsLevel2(Tensor.concatenated([up3to2(d3), e2], axis: 1))))
        var d1 = rec.record("decoder_level1", run(decoderLevel1, Tensor.concatenated([up2to1(d2), e1], axis: 1)))
        if let refinement { d1 = refinement(d1) }
        rec.record("refinement", d1)
        return ModelOutput(image: output(d1) + input, features: rec.features)
    }
}

/// A ``DRSformer/Configuration`` the constructor cannot (or should not) build.
public struct DRSformerConfigurationError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { "invalid DRSformer configuration: \(message)" }
}
