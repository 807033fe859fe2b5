import Foundation

/// The soft PIQE extractor φ_P on B×C×H×W tensors (quality README §7.1).
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
            x = LinearMaps.apply(rows: LinearMaps.tensor(Self.replicatePad(h0, to: h), rows: h, columns: h0, like: x),
                                 columns: LinearMaps.tensor(Self.replicatePad(w0, to: w), rows: w, columns: w0, like: x),
                                 to: x)
        }
        let gh = LinearMaps.tensor(LinearMaps.correlation(h, kernel: MSCN.window, padding: .replicate), rows: h, columns: h, like: x)
        let gw = LinearMaps.tensor(LinearMaps.correlation(w, kernel: MSCN.window, padding: .replicate), rows: w, columns: w, like: x)
        let mu = LinearMaps.apply(rows: gh, columns: gw, to: x)
        let second = LinearMaps.apply(rows: gh, columns: gw, to: x.squared())
        let m = (x - mu) / (((second - mu.squared()).abs() + epsilon).sqrt() + c)

        let (bh, bw) = (h / b, w / b)
        // B×C×bh×bw×16×16 blocks.
        let blocks = m.reshaped([batch, channels, bh, b, bw, b]).permuted([0, 1, 2, 4, 3, 5])
        let inner = [4, 5]
        let v = blocks.variance(axes: inner)
        let std = { (t: Tensor) in (t.variance(axes: inner) + self.epsilon).sqrt() }

        // 4 edges × 11 segments of 6 pixels: top row, right column, bottom row, left column.
        var segments = [Tensor]()
        let edges = [blocks.narrowed(axis: 4, start: 0, length: 1), blocks.narrowed(axis: 5, start: b - 1, length: 1),
                     blocks.narrowed(axis: 4, start: b - 1, length: 1), blocks.narrowed(axis: 5, start: 0, length: 1)]
        for (k, edge) in edges.enumerated() {
            let along = k % 2 == 0 ? 5 : 4
            for j in 0...(b - 6) { segments.append(std(edge.narrowed(axis: along, start: j, length: 6))) }
        }
        let s = LinearMaps.stackLast(segments)
        let minSeg: Tensor = tauMin > 0
            ? -tauMin * ((-s / tauMin).logSumExp(axes: [s.rank - 1]) - log(Double(segments.count)))
            : s.min(axes: [s.rank - 1])

        // Centre: columns 8–9 (1-based, b = 16); surround: columns 1–7, 9, 11–16 (piqe.m's deletion order).
        let centreColumns: Set<Int> = [b / 2 - 1, b / 2]
        let surroundColumns = Set(0..<b).subtracting([b / 2 - 1, b / 2 + 1])
        let sc = maskedStd(blocks, columns: centreColumns, like: x)
        let ss = maskedStd(blocks, columns: surroundColumns, like: x)
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

        let perBlock = LinearMaps.stackLast([v, minSeg, beta, wAct, wNdc, wNc, d]).reshaped([batch, channels, bh * bw * 7])
        // Append the score: [features | score] = features·E + score ⊗ e_last.
        let n = bh * bw * 7
        var e = [Double](repeating: 0, count: n * (n + 1))
        for i in 0..<n { e[i * (n + 1) + i] = 1 }
        var last = [Double](repeating: 0, count: n + 1)
        last[n] = 1
        var lastTensor = Tensor(shape: [n + 1], scalars: last)
        if x.dtype != .float64 { lastTensor = lastTensor.cast(to: x.dtype) }
        return perBlock.matmul(LinearMaps.tensor(e, rows: n, columns: n + 1, like: x)) + score.unsqueezed(axis: 2) * lastTensor
    }

    /// Unbiased std (with ε) of the given columns of each block, two-pass through a column mask.
    func maskedStd(_ blocks: Tensor, columns: Set<Int>, like x: Tensor) -> Tensor {
        let b = blockSize
        var mask = Tensor(shape: [1, b], scalars: (0..<b).map { columns.contains($0) ? 1.0 : 0.0 })
        if x.dtype != .float64 { mask = mask.cast(to: x.dtype) }
        let n = Double(columns.count * b)
        let mean = (blocks * mask).sum(axes: [4, 5], keepDims: true) / n
        let variance = ((blocks - mean).squared() * mask).sum(axes: [4, 5]) / (n - 1)
        return (variance + epsilon).sqrt()
    }

    /// n′×n replicate padding after the end: row i reads min(i, n − 1).
    static func replicatePad(_ n: Int, to padded: Int) -> [Double] {
        var m = [Double](repeating: 0, count: padded * n)
        for i in 0..<padded { m[i * n + Swift.min(i, n - 1)] = 1 }
        return m
    }
}
