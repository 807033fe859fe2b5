import Foundation

/// The soft PIQE extractor φ_P on B×C×H×W tensors (Docs/Quality.md#differentiable-extractors).
///
/// Per channel: replicate-padded MSCN (c, ε under the square root), 16×16 blocks; per block the
/// unbiased variance v, the soft minimum of the 44 edge-segment stds
/// softmin_τm(s) = −τm·(logsumexp(−s/τm) − log 44), β from σ_b = √v and the centre/surround std
/// ratio, the soft flags w_act = σ((v − 0.1)/τ), w_ndc = σ((0.1 − m_seg)/τ), w_nc = σ((σ_b − 2β)/τ)
/// and d = w_act·(w_ndc(1 − v) + w_nc·v); score = 100(Σd + 1)/(Σw_act + 1).
/// τ = τm = ε = 0 gives hard steps and the hard minimum: `piqe.m` itself.
///
/// Output: B×C×(7·blocks + 1): for each block, row-major, [v, m_seg, β, w_act, w_ndc, w_nc, d];
/// then the score. Sizes that are not multiples of the block size are replicate-padded first.
///
/// Other block sizes b ≥ 6 (SLKD uses 8×8 on small feature maps) generalise piqe.m's geometry:
/// b − 5 segments of 6 pixels per edge, centre columns b/2 and b/2 + 1 (1-based), surround all
/// columns but b/2 and b/2 + 2 (piqe.m's deletion order).
public struct DifferentiablePIQE: Sendable {
    public var tau: Double
    public var tauMin: Double
    public var epsilon: Double
    public var c: Double
    /// The activity threshold on v.
    public var activityThreshold: Double
    /// The noticeable-distortion threshold on the segment std.
    public var segmentThreshold: Double
    /// The side of the square blocks (piqe.m: 16).
    public var blockSize: Int

    public init(tau: Double = 0.01, tauMin: Double = 0.002, epsilon: Double = 1e-12, c: Double = 1,
                activityThreshold: Double = 0.1, segmentThreshold: Double = 0.1, blockSize: Int = PIQE.blockSize) {
        precondition(tau >= 0 && tauMin >= 0 && epsilon >= 0, "temperatures and ε must be non-negative")
        precondition(blockSize >= 6, "PIQE blocks need at least 6 pixels a side (one edge segment), got \(blockSize)")
        self.blockSize = blockSize
        self.tau = tau
        self.tauMin = tauMin
        self.epsilon = epsilon
        self.c = c
        self.activityThreshold = activityThreshold
        self.segmentThreshold = segmentThreshold
    }

    /// The hard extractor (τ = τm = ε = 0), equal to `piqe.m` on integer-valued input.
    public static let hard = DifferentiablePIQE(tau: 0, tauMin: 0, epsilon: 0)

    /// σ(x/τ), or the step x > 0 when τ = 0.
    func step(_ x: Tensor) -> Tensor { tau > 0 ? (x / tau).sigmoid() : (x > 0) }

    /// Block features and score of `input` (B×C×H×W).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4, "DifferentiablePIQE takes B×C×H×W, got \(input.shape)")
        let b = blockSize
        let (batch, channels, h0, w0) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let h = (h0 + b - 1) / b * b, w = (w0 + b - 1) / b * b
        var x = input
        if h != h0 || w != w0 {
            x = FeatureOps.separable(x, rows: .replicatePad(h0, to: h), columns: .replicatePad(w0, to: w))
        }
        let m = FeatureOps.mscn(x, padding: .replicate, c: c, epsilon: epsilon)

        let (bh, bw) = (h / b, w / b)
        // B×C×bh×bw×K: [v, 4(b − 5) edge-segment stds (top, right, bottom, left), σ_centre, σ_surround].
        let stats = FeatureOps.blockStatistics(m, blockSize: b, epsilon: epsilon)
        let segmentCount = 4 * (b - 5)
        func stat(_ k: Int) -> Tensor { stats.narrowed(axis: 4, start: k, length: 1).squeezed(axis: 4) }
        let v = stat(0)
        let s = stats.narrowed(axis: 4, start: 1, length: segmentCount)
        let minSeg: Tensor = tauMin > 0
            ? -tauMin * ((-s / tauMin).logSumExp(axes: [4]) - log(Double(segmentCount)))
            : s.min(axes: [4])

        // Centre: columns 8–9 (1-based, b = 16); surround: columns 1–7, 9, 11–16 (piqe.m's deletion order).
        let sc = stat(1 + segmentCount), ss = stat(2 + segmentCount)
        var cs = sc / ss
        let sigmaB = (v + epsilon).sqrt()
        var beta = (sigmaB - cs).abs() / Tensor.maximum(sigmaB, cs)
        if epsilon == 0 {
            // Hard mode in flat blocks: cs = 0/0 → 0 as piqe.m, then β = 0/0 → 1 as PIQE does.
            cs = Tensor.where(cs .== cs, cs, cs.zerosLike())
            beta = (sigmaB - cs).abs() / Tensor.maximum(sigmaB, cs)
            beta = Tensor.where(beta .== beta, beta, beta.onesLike())
        }

        let wAct = step(v - activityThreshold)
        let wNdc = step(segmentThreshold - minSeg)
        let wNc = step(sigmaB - 2 * beta)
        let d = wAct * (wNdc * (1 - v) + wNc * v)
        let score = 100 * (d.sum(axes: [2, 3]) + 1) / (wAct.sum(axes: [2, 3]) + 1)

        let perBlock = Tensor.stacked([v, minSeg, beta, wAct, wNdc, wNc, d], axis: 4).reshaped([batch, channels, bh * bw * 7])
        return Tensor.concatenated([perBlock, score.unsqueezed(axis: 2)], axis: 2)
    }
}

extension DifferentiablePIQE {
    /// The block features of one B×C×H×W input by name, each B×C×blocks (blocks row-major), and
    /// the score, B×C; the one place that knows the column layout of ``callAsFunction(_:)``.
    public struct BlockFeatures {
        /// v: the unbiased variance of the MSCN block.
        public var variance: Tensor
        /// m_seg: the soft minimum of the edge-segment standard deviations.
        public var segmentMinimum: Tensor
        /// β from σ_b = √v and the centre/surround standard-deviation ratio.
        public var beta: Tensor
        /// w_act: the soft activity flag.
        public var activity: Tensor
        /// w_ndc: the soft noticeable-distortion flag.
        public var noticeableDistortion: Tensor
        /// w_nc: the soft noise flag.
        public var noise: Tensor
        /// d = w_act·(w_ndc·(1 − v) + w_nc·v).
        public var distortion: Tensor
        /// 100(Σd + 1)/(Σw_act + 1).
        public var score: Tensor
    }

    /// ``callAsFunction(_:)`` split by name.
    public func blockFeatures(_ input: Tensor) -> BlockFeatures {
        let f = self(input)
        let blocks = (f.shape[2] - 1) / 7
        let perBlock = f.narrowed(axis: 2, start: 0, length: 7 * blocks).reshaped([input.shape[0], input.shape[1], blocks, 7])
        func column(_ i: Int) -> Tensor { perBlock.narrowed(axis: 3, start: i, length: 1).squeezed(axis: 3) }
        return BlockFeatures(variance: column(0), segmentMinimum: column(1), beta: column(2), activity: column(3),
                             noticeableDistortion: column(4), noise: column(5), distortion: column(6),
                             score: f.narrowed(axis: 2, start: 7 * blocks, length: 1).squeezed(axis: 2))
    }
}
