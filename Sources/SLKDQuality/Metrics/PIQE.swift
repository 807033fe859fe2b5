import Foundation

/// PIQE (Venkatanath et al. 2015) as MathWorks `piqe.m` computes it (Docs/Quality.md#piqe).
///
/// The image is padded (replicate, after the last row/column) to multiples of 16, converted to
/// `uint8` grey, turned into MSCN coefficients with replicate padding, and cut into 16×16
/// blocks. Active blocks (variance > 0.1) are scored for noticeable distortion (an edge segment
/// with std < 0.1) and noise (σ_b > 2β); score = 100·(Σd + 1)/(N_active + 1), 0 best, 100 worst.
public enum PIQE {
    /// The block side.
    public static let blockSize = 16
    /// A block is active when its MSCN variance exceeds this.
    public static let activityThreshold = 0.1
    /// An edge segment with a smaller standard deviation is a noticeable distortion.
    public static let segmentThreshold = 0.1
    /// The constant C of the score.
    public static let scoreConstant = 1.0

    /// Statistics of one 16×16 block of the padded image.
    public struct Block: Sendable, Equatable {
        /// Unbiased variance of the block's MSCN coefficients.
        public var variance: Double
        /// Smallest unbiased std of the 44 six-pixel edge segments.
        public var minSegmentStd: Double
        /// std(centre columns)/std(surround), 0 when undefined (0/0).
        public var centreSurroundRatio: Double
        /// β = |σ_b − cs|/max(σ_b, cs) (1 when both are 0).
        public var beta: Double
        public var isActive: Bool
        /// Noticeable distortion; only ever true for active blocks.
        public var isImpaired: Bool
        /// Noise; only ever true for active blocks.
        public var isNoisy: Bool
        /// The block's distortion d (0 for inactive blocks).
        public var distortion: Double
    }

    /// `[Score, ActivityMask, NoticeableArtifactsMask, NoiseMask]` of `piqe.m`, plus the blocks.
    public struct Result: Sendable, Equatable {
        public var score: Double
        /// Pixel masks of the input size, row-major (padding cropped).
        public var activityMask: [Bool]
        public var noticeableArtifactsMask: [Bool]
        public var noiseMask: [Bool]
        /// Blocks of the padded image, row-major, `blockRows`×`blockColumns`.
        public var blocks: [Block]
        public var blockRows: Int
        public var blockColumns: Int
        public var activeBlockCount: Int { blocks.reduce(0) { $0 + ($1.isActive ? 1 : 0) } }
    }

    /// PIQE of a grey or RGB image on the 0–255 scale. Pixels are quantised as `uint8` would be
    /// (rounded, saturated), as `piqe.m` does with `rgb2gray` and `round(255·im2double(I))`.
    public static func evaluate(_ image: QualityImage) throws -> Result {
        try image.validate("PIQE")
        let grey = ColorConversion.matlabGray(image)
        return evaluate(grey: grey, width: image.width, height: image.height)
    }

    /// The score alone.
    public static func score(_ image: QualityImage) throws -> Double { try evaluate(image).score }

    /// PIQE of an integer-valued grey plane (no validation).
    public static func evaluate(grey: [Double], width: Int, height: Int) -> Result {
        let b = blockSize
        let pw = (width + b - 1) / b * b, ph = (height + b - 1) / b * b
        let rows = ph / b, columns = pw / b
        // The MSCN coefficients (8 bytes a pixel) live only while the blocks are computed: they
        // are gone before the masks (3 bytes a pixel) are made.
        let blocks = { () -> [Block] in
            // The padded image is never built: each MSCN band copies its rows from `grey`,
            // repeating the last row and column (8 bytes a pixel saved).
            let m = MSCN.coefficients(width: pw, height: ph, options: .piqe) { band in
                var rows = [Double](repeating: 0, count: band.count * pw)
                grey.withUnsafeBufferPointer { g in
                    for (i, y) in band.enumerated() {
                        let source = g.baseAddress! + Swift.min(y, height - 1) * width
                        for x in 0..<pw { rows[i * pw + x] = source[Swift.min(x, width - 1)] }
                    }
                }
                return rows
            }
            var blocks = [Block](repeating: Block(variance: 0, minSegmentStd: 0, centreSurroundRatio: 0, beta: 0,
                                                  isActive: false, isImpaired: false, isNoisy: false, distortion: 0),
                                 count: rows * columns)
            m.withUnsafeBufferPointer { m in
                blocks.withUnsafeMutableBufferPointer { out in
                    let out = UncheckedSendable(out.baseAddress!)
                    Parallel.forChunks(rows * columns, grain: 64) { range in
                        for k in range {
                            out.value[k] = block(m, stride: pw, top: (k / columns) * b, left: (k % columns) * b)
                        }
                    }
                }
            }
            return blocks
        }()
        var total = 0.0, active = 0
        for blk in blocks where blk.isActive {
            total += blk.distortion
            active += 1
        }
        let score = 100 * (total + scoreConstant) / (scoreConstant + Double(active))
        var activity = [Bool](repeating: false, count: width * height)
        var impaired = activity, noise = activity
        for y in 0..<height {
            for x in 0..<width {
                let blk = blocks[(y / b) * columns + x / b]
                activity[y * width + x] = blk.isActive
                impaired[y * width + x] = blk.isImpaired
                noise[y * width + x] = blk.isNoisy
            }
        }
        return Result(score: score, activityMask: activity, noticeableArtifactsMask: impaired, noiseMask: noise,
                      blocks: blocks, blockRows: rows, blockColumns: columns)
    }

    /// Unbiased standard deviation of `count` values read with `stride`.
    @inline(__always)
    static func std(_ p: UnsafePointer<Double>, count: Int, stride: Int) -> Double {
        sqrt(variance(p, count: count, stride: stride))
    }

    /// Unbiased (N − 1) variance of `count` values read with `stride`, two-pass.
    @inline(__always)
    static func variance(_ p: UnsafePointer<Double>, count: Int, stride: Int) -> Double {
        var mean = 0.0
        for i in 0..<count { mean += p[i * stride] }
        mean /= Double(count)
        var ss = 0.0
        for i in 0..<count {
            let d = p[i * stride] - mean
            ss += d * d
        }
        return ss / Double(count - 1)
    }

    /// Statistics and flags of the block at (`top`, `left`).
    static func block(_ m: UnsafeBufferPointer<Double>, stride: Int, top: Int, left: Int) -> Block {
        let b = blockSize
        let origin = m.baseAddress! + top * stride + left
        var values = [Double](), centre = [Double](), surround = [Double]()
        values.reserveCapacity(b * b)
        // MATLAB order: column-major B(:), centre [B(:,8); B(:,9)], surround B with column 8
        // removed and then column 9 of the remainder (original columns 1–7, 9, 11–16).
        for x in 0..<b {
            for y in 0..<b { values.append(origin[y * stride + x]) }
        }
        for x in [7, 8] { for y in 0..<b { centre.append(origin[y * stride + x]) } }
        for x in [0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15] { for y in 0..<b { surround.append(origin[y * stride + x]) } }
        let v = values.withUnsafeBufferPointer { variance($0.baseAddress!, count: $0.count, stride: 1) }
        // 4 edges × 11 segments of 6 pixels.
        var minSeg = Double.infinity
        let edges: [(UnsafePointer<Double>, Int)] = [
            (origin, 1), (origin + (b - 1), stride), (origin + (b - 1) * stride, 1), (origin, stride),
        ]
        for (start, step) in edges {
            for j in 0...(b - 6) { minSeg = Swift.min(minSeg, std(start + j * step, count: 6, stride: step)) }
        }
        let sc = centre.withUnsafeBufferPointer { std($0.baseAddress!, count: $0.count, stride: 1) }
        let ss = surround.withUnsafeBufferPointer { std($0.baseAddress!, count: $0.count, stride: 1) }
        var cs = sc / ss
        if cs.isNaN { cs = 0 }
        let sigmaB = sqrt(v)
        // 0/0 only in exactly flat blocks (inactive, so never scored): β = 1, the limit for σ_b → 0,
        // which is also what the rounding noise of a flat window gives in piqe.m.
        let largest = Swift.max(sigmaB, cs)
        let beta = largest > 0 ? abs(sigmaB - cs) / largest : 1
        let isActive = v > activityThreshold
        let impaired = isActive && minSeg < segmentThreshold
        let noisy = isActive && sigmaB > 2 * beta
        let d: Double = impaired && noisy ? 1 : impaired ? 1 - v : noisy ? v : 0
        return Block(variance: v, minSegmentStd: minSeg, centreSurroundRatio: cs, beta: beta, isActive: isActive,
                     isImpaired: impaired, isNoisy: noisy, distortion: isActive ? d : 0)
    }
}
