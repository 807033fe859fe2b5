/// The ranges every model configuration is checked against before a network is built, so that a
/// value from an options file can never reach a constructor's `precondition`, overflow an `Int`
/// or ask malloc for terabytes. The ranges are wide: the paper's largest network (Uformer-B,
/// 51 M parameters) uses a fraction of each.
public enum ConfigurationLimits {
    /// Image channels in and out (1 gray, 3 colour, 6 dual-pixel).
    public static let channels = 1...64
    /// The first level's width (`dim`, `embed_dim`); deeper levels multiply it by up to 16.
    public static let width = 1...1024
    /// Blocks of one level (`num_blocks[i]`, `depths[i]`, `num_refinement_blocks`).
    public static let blocks = 0...64
    /// Attention heads of one level.
    public static let heads = 1...1024
    /// The feed-forward expansion (`ffn_expansion_factor`, `mlp_ratio`).
    public static let expansion = 0.01...16.0
    /// The most parameters a configuration may have (about 3.2 GB to train with Adam in float32).
    public static let maximumParameters = 200_000_000

    /// "key must be in a...b, got v", or nil when `value` is in `range`.
    static func outside(_ key: String, _ value: Int, _ range: ClosedRange<Int>) -> String? {
        range.contains(value) ? nil : "\(key) must be in \(range.lowerBound)...\(range.upperBound), got \(value)"
    }

    /// The same for a list: the first element outside `range`, or a wrong count.
    static func outside(_ key: String, _ values: [Int], count: Int, _ range: ClosedRange<Int>) -> String? {
        guard values.count == count else { return "\(key) must list \(count) values, got \(values)" }
        for (i, v) in values.enumerated() where !range.contains(v) {
            return "\(key)[\(i)] must be in \(range.lowerBound)...\(range.upperBound), got \(v)"
        }
        return nil
    }

    /// "key must be a finite number in a...b, got v", or nil.
    static func outside(_ key: String, _ value: Double, _ range: ClosedRange<Double>) -> String? {
        value.isFinite && range.contains(value) ? nil
            : "\(key) must be a finite number in \(range.lowerBound)...\(range.upperBound), got \(value)"
    }

    /// A refusal when an estimated parameter count is over ``maximumParameters``.
    static func tooLarge(_ estimate: Double) -> String? {
        estimate <= Double(maximumParameters) ? nil
            : "the network would have about \(Int(estimate.rounded())) parameters, over the limit of \(maximumParameters)"
    }

    /// The checks Restormer and DRSformer share (the same four-level U-Net under the same
    /// argument names): the ranges first, since the divisibility checks multiply, then each level's
    /// width (dim, 2·dim, 4·dim, 8·dim; decoder level 1 has 2·dim) splitting into its heads, then
    /// at least one feed-forward hidden channel. The first problem, naming the official key, or nil.
    static func fourLevelUNetProblem(inputChannels: Int, outputChannels: Int, dim: Int, numBlocks: [Int], heads: [Int],
                                     ffnExpansionFactor: Double) -> String? {
        let ranges: [String?] = [
            outside("inp_channels", inputChannels, channels),
            outside("out_channels", outputChannels, channels),
            outside("dim", dim, width),
            outside("num_blocks", numBlocks, count: 4, blocks),
            outside("heads", heads, count: 4, self.heads),
            outside("ffn_expansion_factor", ffnExpansionFactor, expansion),
        ]
        if let problem = ranges.compactMap({ $0 }).first { return problem }
        for (level, (factor, h)) in zip([1, 2, 4, 8], heads).enumerated() where (dim * factor) % h != 0 {
            return "heads[\(level)]: level \(level + 1)'s \(dim * factor) channels do not split into \(h) heads"
        }
        if (2 * dim) % heads[0] != 0 { return "heads[0]: decoder level 1's \(2 * dim) channels do not split into \(heads[0]) heads" }
        if Int(Double(dim) * ffnExpansionFactor) <= 0 {
            return "ffn_expansion_factor must give at least one hidden channel, got \(ffnExpansionFactor)"
        }
        return nil
    }

    /// Parameters of the four-level U-Net's resampling and channel-reduction convolutions around
    /// the blocks (Restormer and DRSformer): 3×3 down- and upsampling convolutions at every level
    /// (the 8C → 16C one before the last pixel shuffle dominates) and the 1×1 reductions.
    static func unetResamplingParameters(width c: Int) -> Double {
        let c = Double(c)
        return (9 * (0.5 + 2 + 8) + 9 * (128 + 32 + 8) + 32 + 8) * c * c
    }

    /// Parameters of one Restormer-style transformer block of width `c` (attention: qkv, depthwise
    /// qkv, projection; feed-forward: in, depthwise, out), as a Double so that nothing overflows.
    static func transformerBlockParameters(width c: Int, expansion: Double) -> Double {
        let c = Double(c), hidden = (c * expansion).rounded(.down)
        return 4 * c * c + 27 * c + 3 * c * hidden + 18 * hidden + 4 * c
    }
}
