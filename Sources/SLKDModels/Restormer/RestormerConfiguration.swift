extension Restormer {
    /// Restormer's LayerNorm variant (`LayerNorm_type`), as the official YAML spells it.
    public enum LayerNormType: String, Codable, Sendable, Hashable {
        /// `WithBias`: deraining, motion and defocus deblurring models.
        case withBias = "WithBias"
        /// `BiasFree`: the denoising models.
        case biasFree = "BiasFree"

        var channelLayerNormKind: ChannelLayerNormKind { self == .withBias ? .withBias : .biasFree }
    }

    /// The constructor arguments of the official `Restormer` class (`restormer_arch.py`).
    ///
    /// Coding keys are the official argument names and a missing key takes the official default,
    /// so a BasicSR `network_g` section decodes into it as it is (its `type` entry is ignored).
    public struct Configuration: Codable, Sendable, Hashable {
        /// `inp_channels` (3 colour, 1 gray, 6 dual-pixel).
        public var inputChannels: Int
        /// `out_channels`.
        public var outputChannels: Int
        /// `dim`: channels of level 1 (level l has dim·2^(l−1)).
        public var dim: Int
        /// `num_blocks`: transformer blocks of levels 1–4 (the decoder repeats levels 3, 2, 1).
        public var numBlocks: [Int]
        /// `num_refinement_blocks`.
        public var numRefinementBlocks: Int
        /// `heads`: attention heads of levels 1–4.
        public var heads: [Int]
        /// `ffn_expansion_factor`: GDFN hidden channels = Int(C · factor).
        public var ffnExpansionFactor: Double
        /// `bias`: biases in the convolutions of the transformer blocks, `reduce_chan_level3/2`,
        /// `skip_conv` and `output` (never in the patch embedding, Downsample or Upsample).
        public var bias: Bool
        /// `LayerNorm_type`.
        public var layerNormType: LayerNormType
        /// `dual_pixel_task`: adds `skip_conv` and drops the global residual (inp 6 → out 3).
        public var dualPixelTask: Bool

        enum CodingKeys: String, CodingKey {
            case inputChannels = "inp_channels"
            case outputChannels = "out_channels"
            case dim
            case numBlocks = "num_blocks"
            case numRefinementBlocks = "num_refinement_blocks"
            case heads
            case ffnExpansionFactor = "ffn_expansion_factor"
            case bias
            case layerNormType = "LayerNorm_type"
            case dualPixelTask = "dual_pixel_task"
        }

        /// The official defaults are Restormer's own configuration (the teacher, WithBias).
        public init(inputChannels: Int = 3, outputChannels: Int = 3, dim: Int = 48, numBlocks: [Int] = [4, 6, 6, 8],
                    numRefinementBlocks: Int = 4, heads: [Int] = [1, 2, 4, 8], ffnExpansionFactor: Double = 2.66,
                    bias: Bool = false, layerNormType: LayerNormType = .withBias, dualPixelTask: Bool = false) {
            self.inputChannels = inputChannels
            self.outputChannels = outputChannels
            self.dim = dim
            self.numBlocks = numBlocks
            self.numRefinementBlocks = numRefinementBlocks
            self.heads = heads
            self.ffnExpansionFactor = ffnExpansionFactor
            self.bias = bias
            self.layerNormType = layerNormType
            self.dualPixelTask = dualPixelTask
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Configuration()
            self.init(
                inputChannels: try c.decodeIfPresent(Int.self, forKey: .inputChannels) ?? d.inputChannels,
                outputChannels: try c.decodeIfPresent(Int.self, forKey: .outputChannels) ?? d.outputChannels,
                dim: try c.decodeIfPresent(Int.self, forKey: .dim) ?? d.dim,
                numBlocks: try c.decodeIfPresent([Int].self, forKey: .numBlocks) ?? d.numBlocks,
                numRefinementBlocks: try c.decodeIfPresent(Int.self, forKey: .numRefinementBlocks) ?? d.numRefinementBlocks,
                heads: try c.decodeIfPresent([Int].self, forKey: .heads) ?? d.heads,
                ffnExpansionFactor: try c.decodeIfPresent(Double.self, forKey: .ffnExpansionFactor) ?? d.ffnExpansionFactor,
                bias: try c.decodeIfPresent(Bool.self, forKey: .bias) ?? d.bias,
                layerNormType: try c.decodeIfPresent(LayerNormType.self, forKey: .layerNormType) ?? d.layerNormType,
                dualPixelTask: try c.decodeIfPresent(Bool.self, forKey: .dualPixelTask) ?? d.dualPixelTask)
            // A DecodingError: decoders pass those through with their coding path.
            do { try validate() } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: error.message))
            }
        }

        /// Checks what the official constructor would fail on (or silently mis-build), and the ranges
        /// of ``ConfigurationLimits``; the message names the official key.
        public func validate() throws(RestormerConfigurationError) {
            func fail(_ message: String) -> RestormerConfigurationError { RestormerConfigurationError(message: message) }
            typealias L = ConfigurationLimits
            if let problem = L.fourLevelUNetProblem(inputChannels: inputChannels, outputChannels: outputChannels, dim: dim,
                                                    numBlocks: numBlocks, heads: heads, ffnExpansionFactor: ffnExpansionFactor)
                ?? L.outside("num_refinement_blocks", numRefinementBlocks, L.blocks) {
                throw fail(problem)
            }
            guard dim % 2 == 0 else { throw fail("dim must be even, got \(dim)") }
            // Last: the estimate needs the counts checked above.
            if let problem = L.tooLarge(estimatedParameterCount) { throw fail(problem) }
        }

        /// About how many parameters the network has (transformer blocks only; within a few
        /// percent of the real count), for refusing absurd sizes before allocating them.
        public var estimatedParameterCount: Double {
            let widths = [1, 2, 4, 8, 4, 2, 2, 2].map { dim * $0 }
            let counts = numBlocks + [numBlocks[2], numBlocks[1], numBlocks[0], numRefinementBlocks]
            let blocks = zip(widths, counts).reduce(0) { $0 + Double($1.1) * ConfigurationLimits.transformerBlockParameters(width: $1.0, expansion: ffnExpansionFactor) }
            return blocks + ConfigurationLimits.unetResamplingParameters(width: dim)
        }

        // MARK: Presets (Tests/SLKDTestSupport/Vectors/Reference/models/README.md §2, §5)

        /// Restormer, the teacher: dim 48, blocks [4,6,6,8], 4 refinement blocks, heads [1,2,4,8]
        /// (26,126,644 parameters with WithBias LayerNorm).
        public static func restormer(layerNormType: LayerNormType = .withBias) -> Configuration {
            Configuration(layerNormType: layerNormType)
        }

        /// Res-SL, the student: dim 24, blocks [1,2,2,4], 4 refinement blocks, heads [1,2,4,8]
        /// (3,537,482 parameters with WithBias LayerNorm).
        public static func resSL(layerNormType: LayerNormType = .withBias) -> Configuration {
            Configuration(dim: 24, numBlocks: [1, 2, 2, 4], layerNormType: layerNormType)
        }

        /// The teacher, WithBias.
        public static var restormer: Configuration { restormer() }
        /// The student, WithBias.
        public static var resSL: Configuration { resSL() }
    }
}

/// A Restormer configuration the official constructor cannot build.
public struct RestormerConfigurationError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { "invalid Restormer configuration: \(message)" }
}
