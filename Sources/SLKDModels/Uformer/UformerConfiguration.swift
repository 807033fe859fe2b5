import SLKDTensor

extension Uformer {
    /// The constructor arguments of the official `Uformer` (`model.py`), under their official
    /// names, with the official defaults for every key a YAML `network_g` section leaves out.
    ///
    /// `img_size` is not stored in a checkpoint but fixes every block's window and shift at
    /// construction: a level whose side `img_size / 2^k` is at most `win_size` uses one window
    /// of that side and never shifts. Build with the training patch size of the checkpoint.
    public struct Configuration: Codable, Sendable, Hashable {
        /// `img_size`: the construction-time input side (official default 256).
        public var imgSize: Int
        /// `in_chans`: output image channels.
        public var inChans: Int
        /// `dd_in`: input image channels; the global residual is added only when 3.
        public var ddIn: Int
        /// `embed_dim`: channels C of the first level (levels have C, 2C, 4C, 8C, 16C).
        public var embedDim: Int
        /// `depths`: LeWin blocks of encoderlayer_0…3, conv (bottleneck), decoderlayer_0…3.
        public var depths: [Int]
        /// `num_heads`: heads of the same nine layers.
        public var numHeads: [Int]
        /// `win_size`: the attention window side.
        public var winSize: Int
        /// `mlp_ratio`: LeFF hidden width / block width.
        public var mlpRatio: Double
        /// `qkv_bias`: biases of `to_q` / `to_kv`.
        public var qkvBias: Bool
        /// `qk_scale`: the attention scale; nil means head_dim^−½.
        public var qkScale: Double?
        /// `drop_rate`, `attn_drop_rate`, `drop_path_rate`: training regularisation. Accepted for
        /// configuration compatibility; this port runs them as identity (eval behaviour).
        public var dropRate: Double
        public var attnDropRate: Double
        public var dropPathRate: Double
        /// `patch_norm`, `use_checkpoint`: accepted, without effect (as in the official code's
        /// forward pass; gradient checkpointing is a memory trade-off only).
        public var patchNorm: Bool
        public var useCheckpoint: Bool
        /// `token_projection`: only `"linear"` (`LinearProjection`) is supported.
        public var tokenProjection: String
        /// `token_mlp`: only `"leff"` is supported.
        public var tokenMlp: String
        /// `shift_flag`: odd blocks of each layer use shifted windows.
        public var shiftFlag: Bool
        /// `modulator`: a learnable window embedding in the four decoder layers.
        public var modulator: Bool
        /// `cross_modulator`: not supported (must be false).
        public var crossModulator: Bool

        public init(imgSize: Int = 256, inChans: Int = 3, ddIn: Int = 3, embedDim: Int = 32,
                    depths: [Int] = [2, 2, 2, 2, 2, 2, 2, 2, 2], numHeads: [Int] = [1, 2, 4, 8, 16, 16, 8, 4, 2],
                    winSize: Int = 8, mlpRatio: Double = 4, qkvBias: Bool = true, qkScale: Double? = nil,
                    dropRate: Double = 0, attnDropRate: Double = 0, dropPathRate: Double = 0.1,
                    patchNorm: Bool = true, useCheckpoint: Bool = false, tokenProjection: String = "linear",
                    tokenMlp: String = "leff", shiftFlag: Bool = true, modulator: Bool = false,
                    crossModulator: Bool = false) {
            self.imgSize = imgSize
            self.inChans = inChans
            self.ddIn = ddIn
            self.embedDim = embedDim
            self.depths = depths
            self.numHeads = numHeads
            self.winSize = winSize
            self.mlpRatio = mlpRatio
            self.qkvBias = qkvBias
            self.qkScale = qkScale
            self.dropRate = dropRate
            self.attnDropRate = attnDropRate
            self.dropPathRate = dropPathRate
            self.patchNorm = patchNorm
            self.useCheckpoint = useCheckpoint
            self.tokenProjection = tokenProjection
            self.tokenMlp = tokenMlp
            self.shiftFlag = shiftFlag
            self.modulator = modulator
            self.crossModulator = crossModulator
        }

        /// Uformer-B as built by `get_arch` (`Uformer_B`) at the SIDD training patch size:
        /// embed 32, depths [1,2,8,8,2,8,8,2,1], win 8, modulator — 50,880,946 parameters.
        public static let uformerB = Configuration(imgSize: 128, embedDim: 32, depths: [1, 2, 8, 8, 2, 8, 8, 2, 1],
                                                   winSize: 8, modulator: true)

        /// Ufor-SL, the paper's student: embed 16, depths [1,2,4,4,2,4,4,2,1], win 8, modulator —
        /// 7,855,234 parameters.
        public static let uforSL = Configuration(imgSize: 128, embedDim: 16, depths: [1, 2, 4, 4, 2, 4, 4, 2, 1],
                                                 winSize: 8, modulator: true)

        enum CodingKeys: String, CodingKey {
            case imgSize = "img_size", inChans = "in_chans", ddIn = "dd_in", embedDim = "embed_dim", depths
            case numHeads = "num_heads", winSize = "win_size", mlpRatio = "mlp_ratio", qkvBias = "qkv_bias"
            case qkScale = "qk_scale", dropRate = "drop_rate", attnDropRate = "attn_drop_rate"
            case dropPathRate = "drop_path_rate", patchNorm = "patch_norm", useCheckpoint = "use_checkpoint"
            case tokenProjection = "token_projection", tokenMlp = "token_mlp", shiftFlag = "shift_flag"
            case modulator, crossModulator = "cross_modulator"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Configuration()
            imgSize = try c.decodeIfPresent(Int.self, forKey: .imgSize) ?? d.imgSize
            inChans = try c.decodeIfPresent(Int.self, forKey: .inChans) ?? d.inChans
            ddIn = try c.decodeIfPresent(Int.self, forKey: .ddIn) ?? d.ddIn
            embedDim = try c.decodeIfPresent(Int.self, forKey: .embedDim) ?? d.embedDim
            depths = try c.decodeIfPresent([Int].self, forKey: .depths) ?? d.depths
            numHeads = try c.decodeIfPresent([Int].self, forKey: .numHeads) ?? d.numHeads
            winSize = try c.decodeIfPresent(Int.self, forKey: .winSize) ?? d.winSize
            mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? d.mlpRatio
            qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? d.qkvBias
            qkScale = try c.decodeIfPresent(Double.self, forKey: .qkScale) ?? d.qkScale
            dropRate = try c.decodeIfPresent(Double.self, forKey: .dropRate) ?? d.dropRate
            attnDropRate = try c.decodeIfPresent(Double.self, forKey: .attnDropRate) ?? d.attnDropRate
            dropPathRate = try c.decodeIfPresent(Double.self, forKey: .dropPathRate) ?? d.dropPathRate
            patchNorm = try c.decodeIfPresent(Bool.self, forKey: .patchNorm) ?? d.patchNorm
            useCheckpoint = try c.decodeIfPresent(Bool.self, forKey: .useCheckpoint) ?? d.useCheckpoint
            tokenProjection = try c.decodeIfPresent(String.self, forKey: .tokenProjection) ?? d.tokenProjection
            tokenMlp = try c.decodeIfPresent(String.self, forKey: .tokenMlp) ?? d.tokenMlp
            shiftFlag = try c.decodeIfPresent(Bool.self, forKey: .shiftFlag) ?? d.shiftFlag
            modulator = try c.decodeIfPresent(Bool.self, forKey: .modulator) ?? d.modulator
            crossModulator = try c.decodeIfPresent(Bool.self, forKey: .crossModulator) ?? d.crossModulator
        }

        /// Checks what this port can build and the ranges of ``ConfigurationLimits``; throws
        /// ``UformerConfigurationError`` naming the argument.
        public func validate() throws(UformerConfigurationError) {
            func fail(_ message: String) -> UformerConfigurationError { UformerConfigurationError(message: message) }
            typealias L = ConfigurationLimits
            // Ranges first: layer widths are 16·embed_dim, which must not overflow.
            // One check per key, in the official argument order (a list: a long ?? chain defeats the type checker).
            let problems: [String?] = [
                L.outside("in_chans", inChans, L.channels),
                L.outside("dd_in", ddIn, L.channels),
                L.outside("embed_dim", embedDim, L.width),
                L.outside("depths", depths, count: 9, L.blocks),
                L.outside("num_heads", numHeads, count: 9, L.heads),
                L.outside("win_size", winSize, 1...64),
                L.outside("img_size", imgSize, 16...4096),
                L.outside("mlp_ratio", mlpRatio, L.expansion),
                L.outside("drop_rate", dropRate, 0.0...1.0),
                L.outside("attn_drop_rate", attnDropRate, 0.0...1.0),
                L.outside("drop_path_rate", dropPathRate, 0.0...1.0),
                qkScale.flatMap({ L.outside("qk_scale", $0, 1e-12...1e12) }),
            ]
            if let problem = problems.compactMap({ $0 }).first {
                throw fail(problem)
            }
            for (i, dim) in layerDims.enumerated() where dim % numHeads[i] != 0 {
                throw fail("num_heads[\(i)]: layer \(i) width \(dim) is not divisible by num_heads[\(i)] = \(numHeads[i])")
            }
            // A layer whose construction side img_size/f is at most win_size gets one window of that
            // side; at run time its side is a multiple of 16·win_size/f, which the window must divide
            // (img_size 48 gives a 6-pixel window where sides are multiples of 16: a trap in forward).
            for (i, (side, factor)) in zip(layerResolutions, [1, 2, 4, 8, 16, 8, 4, 2, 1]).enumerated()
            where side <= winSize && (16 * winSize / factor) % side != 0 {
                throw fail("img_size \(imgSize) gives layer \(i) a \(side)-pixel window, which does not divide the "
                           + "\(16 * winSize / factor)-pixel multiples that layer runs on (use a multiple of \(16 * winSize))")
            }
            guard Int(Double(embedDim) * mlpRatio) > 0 else { throw fail("mlp_ratio must give at least one hidden channel, got \(mlpRatio)") }
            guard tokenProjection == "linear" else { throw fail("token_projection '\(tokenProjection)' is not supported (only 'linear')") }
            guard tokenMlp == "leff" else { throw fail("token_mlp '\(tokenMlp)' is not supported (only 'leff')") }
            guard !crossModulator else { throw fail("cross_modulator is not supported") }
            if let problem = L.tooLarge(estimatedParameterCount) { throw fail(problem) }
        }

        /// About how many parameters the network has (its LeWin blocks), for refusing absurd sizes.
        public var estimatedParameterCount: Double {
            zip(layerDims, depths).reduce(0) { total, layer in
                let d = Double(layer.0), hidden = (d * mlpRatio).rounded(.down)
                return total + Double(layer.1) * (4 * d * d + 2 * d * hidden + 9 * hidden + 4 * d)
            }
        }

        /// Widths of the nine layers: C, 2C, 4C, 8C, 16C (bottleneck), 16C, 8C, 4C, 2C.
        var layerDims: [Int] { [1, 2, 4, 8, 16, 16, 8, 4, 2].map { $0 * embedDim } }

        /// Construction-time map sides of the nine layers.
        var layerResolutions: [Int] { [1, 2, 4, 8, 16, 8, 4, 2, 1].map { imgSize / $0 } }
    }
}

/// A ``Uformer/Configuration`` this port cannot build.
public struct UformerConfigurationError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { "invalid Uformer configuration: \(message)" }
}
