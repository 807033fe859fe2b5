extension DRSformer {
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
}

/// A ``DRSformer/Configuration`` the constructor cannot (or should not) build.
public struct DRSformerConfigurationError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { "invalid DRSformer configuration: \(message)" }
}
