import CSLKDKernels
// LayerNorm over the last axis (`nn.LayerNorm`) and over the channels of an NCHW tensor
// (Restormer's WithBias and BiasFree variants): a fused forward kernel with a closed-form backward
// rule, one pass for the statistics and one for the output.

/// Which of Restormer's two channel LayerNorms (`restormer_arch.py`, `WithBias_LayerNorm` and
/// `BiasFree_LayerNorm`).
public enum ChannelLayerNormKind: Sendable {
    /// `(x − μ) / √(σ² + ε) · w + b`.
    case withBias
    /// `x / √(σ² + ε) · w`: σ² is mean-centred but x itself is not centred.
    case biasFree
}

extension Tensor {
    /// Layer normalisation over the last axis, as `nn.LayerNorm(C)`:
    /// `(x − μ) / √(σ² + eps) · weight + bias` with the biased variance.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) -> Tensor {
        MACCounter.record(.layerNorm, weight: weight, (weight == nil ? 4 : 5) * count)
        return normalized(axis: -1, weight: weight, bias: bias, centred: true, eps: eps, op: "layerNorm")
    }

    /// Restormer's LayerNorm over the channels of an NCHW tensor at every pixel (the
    /// `to_3d`–LayerNorm–`to_4d` sandwich, without the two transposes).
    public func channelLayerNorm(weight: Tensor, bias: Tensor? = nil, kind: ChannelLayerNormKind = .withBias,
                                 eps: Double = 1e-5) -> Tensor {
        precondition(rank == 4, "channelLayerNorm needs an NCHW tensor, got \(shape)")
        precondition(kind == .withBias || bias == nil, "channelLayerNorm: the BiasFree variant takes no bias")
        return normalized(axis: 1, weight: weight, bias: bias, centred: kind == .withBias, eps: eps, op: "channelLayerNorm")
    }

    /// The shared LayerNorm: normalise along `axis`, optionally without centring the output.
    func normalized(axis: Int, weight: Tensor?, bias: Tensor?, centred: Bool, eps: Double, op: String) -> Tensor {
        _ = Tensor.visionFloatType(op, self, weight, bias)
        let a = Shape.axis(axis, rank: rank)
        for p in [weight, bias].compactMap({ $0 }) {
            precondition(p.count == shape[a], "\(op): parameter of shape \(p.shape) does not match axis size \(shape[a])")
        }
        let x = contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
        let lanes = AxisLanes(shape: shape, axis: a)
        let (y, stats) = NormKernels.layerNormForward(x, w, b, lanes, centred: centred, eps: eps)
        var inputs = [x]
        if let w { inputs.append(w) }
        if let b { inputs.append(b) }
        let sx = x.detached(), sw = w?.detached()
        let needW = w?.requiresGrad ?? false, needB = b?.requiresGrad ?? false
        let paramShape = weight?.shape ?? bias?.shape ?? []
        return Autograd.record(y, inputs: inputs) { g0 in
            let g = g0.contiguous()
            let (gx, gw, gb) = NormKernels.layerNormBackward(g, sx, sw, stats, lanes, centred: centred,
                                                             needParams: needW || needB)
            var grads: [Tensor?] = [gx]
            if w != nil { grads.append(needW ? gw!.reshaped(paramShape) : nil) }
            if b != nil { grads.append(needB ? gb!.reshaped(paramShape) : nil) }
            return grads
        }
    }
}

enum NormKernels {
    /// Returns y and, per lane, (μ, 1/√(σ²+ε)) interleaved.
    static func layerNormForward(_ x: Tensor, _ w: Tensor?, _ b: Tensor?, _ lanes: AxisLanes,
                                 centred: Bool, eps: Double) -> (Tensor, [Double]) {
        x.dtype.withFloatType { layerNormForward(x, w, b, lanes, centred, eps, $0) }
    }

    static func layerNormForward<T: TensorScalar>(_ x: Tensor, _ w: Tensor?, _ b: Tensor?, _ lanes: AxisLanes,
                                                  _ centred: Bool, _ eps: Double, _: T.Type) -> (Tensor, [Double]) {
        let px = UnsafePointer(x.basePointer(T.self))
        let pw = w.map { UnsafePointer($0.basePointer(T.self)) }, pb = b.map { UnsafePointer($0.basePointer(T.self)) }
        let n = lanes.size, inner = lanes.inner, laneCount = lanes.outer * lanes.inner
        var stats = [Double](repeating: 0, count: 2 * laneCount)
        let y = stats.withUnsafeMutableBufferPointer { statsBuffer in
            let ps = statsBuffer.baseAddress!
            return Tensor.make(x.shape, T.self) { out in
                let py = out.baseAddress!
                lanes.forEachBlock(T.self, scratchPerLane: 2) { base, m, scratch in
                    if T.self == Float.self && inner > 1 {
                        // Channel LayerNorm in the C target: the same operations, vectorised on every path.
                        let lane = lanes.firstLane(ofBlockAt: base)
                        slkd_channel_norm_forward_f32(floatPointer(px + base), mutableFloatPointer(py + base), n, inner, m,
                                                      pw.map(floatPointer), pb.map(floatPointer), centred ? 1 : 0,
                                                      Float(eps), ps + 2 * lane)
                        return
                    }
                    if inner == 1 {
                        // Last-axis LayerNorm (Uformer tokens): one contiguous row per lane, kept
                        // in scalars instead of one-lane blocks; the same operations in the same order.
                        let row = px + base, dst = py + base
                        var mean: T = 0, rstd: T = 0
                        for c in 0..<n { mean += row[c] }
                        let invN = 1 / T(n)
                        mean *= invN
                        for c in 0..<n { let d = row[c] - mean; rstd += d * d }
                        rstd = 1 / (rstd * invN + T(eps)).squareRoot()
                        switch (pw, pb, centred) {
                        case let (w?, b?, true): for c in 0..<n { dst[c] = (row[c] - mean) * rstd * w[c] + b[c] }
                        case let (w?, b?, false): for c in 0..<n { dst[c] = row[c] * rstd * w[c] + b[c] }
                        default:
                            for c in 0..<n {
                                let wc = pw?[c] ?? 1, bc = pb?[c] ?? 0
                                dst[c] = centred ? (row[c] - mean) * rstd * wc + bc : row[c] * rstd * wc + bc
                            }
                        }
                        ps[2 * base / n] = Double(mean); ps[2 * base / n + 1] = Double(rstd)
                        return
                    }
                    let mean = scratch, rstd = scratch + m
                    for j in 0..<m { mean[j] = 0; rstd[j] = 0 }
                    for c in 0..<n { let row = px + base + c * inner; for j in 0..<m { mean[j] += row[j] } }
                    let invN = 1 / T(n)
                    for j in 0..<m { mean[j] *= invN }
                    for c in 0..<n {
                        let row = px + base + c * inner
                        for j in 0..<m { let d = row[j] - mean[j]; rstd[j] += d * d }
                    }
                    for j in 0..<m { rstd[j] = 1 / (rstd[j] * invN + T(eps)).squareRoot() }
                    for c in 0..<n {
                        let row = px + base + c * inner, dst = py + base + c * inner
                        let wc = pw?[c] ?? 1, bc = pb?[c] ?? 0
                        if centred {
                            for j in 0..<m { dst[j] = (row[j] - mean[j]) * rstd[j] * wc + bc }
                        } else {
                            for j in 0..<m { dst[j] = row[j] * rstd[j] * wc + bc }
                        }
                    }
                    let first = lanes.firstLane(ofBlockAt: base)
                    for j in 0..<m {
                        let lane = first + j
                        ps[2 * lane] = Double(mean[j]); ps[2 * lane + 1] = Double(rstd[j])
                    }
                }
            }
        }
        return (y, stats)
    }

    static func layerNormBackward(_ g: Tensor, _ x: Tensor, _ w: Tensor?, _ stats: [Double], _ lanes: AxisLanes,
                                  centred: Bool, needParams: Bool) -> (Tensor, Tensor?, Tensor?) {
        x.dtype.withFloatType { layerNormBackward(g, x, w, stats, lanes, centred, needParams, $0) }
    }

    /// With x̂ = (x − μ)·r and g′ = g·w:
    ///  centred: dx = r·(g′ − mean(g′) − x̂·mean(g′·x̂));
    ///  BiasFree (y = x·r·w): dx = r·g′ − r³·(x − μ)·mean(g′·x).
    /// dw = Σ g·x̂ (centred) or Σ g·x·r, db = Σ g, summed over lanes.
    static func layerNormBackward<T: TensorScalar>(_ g: Tensor, _ x: Tensor, _ w: Tensor?, _ stats: [Double],
                                                   _ lanes: AxisLanes, _ centred: Bool, _ needParams: Bool,
                                                   _: T.Type) -> (Tensor, Tensor?, Tensor?) {
        let px = UnsafePointer(x.basePointer(T.self)), pg = UnsafePointer(g.basePointer(T.self))
        let pw = w.map { UnsafePointer($0.basePointer(T.self)) }
        let n = lanes.size, inner = lanes.inner
        let gx = stats.withUnsafeBufferPointer { statsBuffer in
            let ps = statsBuffer.baseAddress!
            return Tensor.make(x.shape, T.self) { out in
                let pgx = out.baseAddress!
                lanes.forEachBlock(T.self, scratchPerLane: 4) { base, m, scratch in
                    if T.self == Float.self && inner > 1 {
                        let lane = lanes.firstLane(ofBlockAt: base)
                        slkd_channel_norm_backward_f32(floatPointer(pg + base), floatPointer(px + base),
                                                       mutableFloatPointer(pgx + base), n, inner, m, pw.map(floatPointer),
                                                       centred ? 1 : 0, ps + 2 * lane)
                        return
                    }
                    if inner == 1 && centred {
                        // Last-axis LayerNorm: the row in scalars (same operations and order).
                        let lane = base / n
                        let mean = T(ps[2 * lane]), rstd = T(ps[2 * lane + 1])
                        let xr = px + base, gr = pg + base, dst = pgx + base
                        var s1: T = 0, s2: T = 0
                        for c in 0..<n { let gp = gr[c] * (pw?[c] ?? 1); s1 += gp; s2 += gp * (xr[c] - mean) * rstd }
                        let invN = 1 / T(n)
                        for c in 0..<n {
                            let xhat = (xr[c] - mean) * rstd
                            dst[c] = rstd * (gr[c] * (pw?[c] ?? 1) - s1 * invN - xhat * s2 * invN)
                        }
                        return
                    }
                    let mean = scratch, rstd = scratch + m, s1 = scratch + 2 * m, s2 = scratch + 3 * m
                    let first = lanes.firstLane(ofBlockAt: base)
                    for j in 0..<m {
                        let lane = first + j
                        mean[j] = T(ps[2 * lane]); rstd[j] = T(ps[2 * lane + 1]); s1[j] = 0; s2[j] = 0
                    }
                    for c in 0..<n {
                        let xr = px + base + c * inner, gr = pg + base + c * inner, wc = pw?[c] ?? 1
                        if centred {
                            for j in 0..<m { let gp = gr[j] * wc; s1[j] += gp; s2[j] += gp * (xr[j] - mean[j]) * rstd[j] }
                        } else {
                            for j in 0..<m { s2[j] += gr[j] * wc * xr[j] }
                        }
                    }
                    let invN = 1 / T(n)
                    for c in 0..<n {
                        let xr = px + base + c * inner, gr = pg + base + c * inner, dst = pgx + base + c * inner
                        let wc = pw?[c] ?? 1
                        if centred {
                            for j in 0..<m {
                                let xhat = (xr[j] - mean[j]) * rstd[j]
                                dst[j] = rstd[j] * (gr[j] * wc - s1[j] * invN - xhat * s2[j] * invN)
                            }
                        } else {
                            for j in 0..<m {
                                let r = rstd[j]
                                dst[j] = r * gr[j] * wc - r * r * r * (xr[j] - mean[j]) * s2[j] * invN
                            }
                        }
                    }
                }
            }
        }
        guard needParams else { return (gx, nil, nil) }
        if T.self == Float.self {
            let (gw, gb) = floatParameterGradients(floatPointer(pg), floatPointer(px), stats, lanes, centred)
            return (gx, gw, gb)
        }
        // Parameter gradients: per channel c, sums over all lanes; parallel over channels.
        var gwOut = [T](repeating: 0, count: n), gbOut = [T](repeating: 0, count: n)
        gwOut.withUnsafeMutableBufferPointer { gwb in
            gbOut.withUnsafeMutableBufferPointer { gbb in
                let gwp = gwb.baseAddress!, gbp = gbb.baseAddress!
                stats.withUnsafeBufferPointer { sb in
                    let ps = sb.baseAddress!
                    Parallel.forChunks(n) { channels in
                        for c in channels {
                            var sw: T = 0, sb: T = 0
                            for o in 0..<lanes.outer {
                                let off = (o * n + c) * inner
                                for i in 0..<inner {
                                    let lane = o * inner + i
                                    let xv = px[off + i], gv = pg[off + i]
                                    let r = T(ps[2 * lane + 1])
                                    sw += gv * (centred ? (xv - T(ps[2 * lane])) * r : xv * r)
                                    sb += gv
                                }
                            }
                            gwp[c] = sw; gbp[c] = sb
                        }
                    }
                }
            }
        }
        return (gx, Tensor(shape: [n], scalars: gwOut), Tensor(shape: [n], scalars: gbOut))
    }

    /// The Float parameter gradients in the C target, parallel over channels: 16 fixed lanes per
    /// channel instead of one running sum, so the bits differ from the generic loop's (and agree
    /// across paths).
    private static func floatParameterGradients(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ stats: [Double],
                                                _ lanes: AxisLanes, _ centred: Bool) -> (Tensor, Tensor) {
        let n = lanes.size, inner = lanes.inner, laneCount = lanes.outer * inner
        var mean = [Float](repeating: 0, count: laneCount), rstd = [Float](repeating: 0, count: laneCount)
        for lane in 0..<laneCount {
            mean[lane] = Float(stats[2 * lane])
            rstd[lane] = Float(stats[2 * lane + 1])
        }
        var weightGradient = [Float](repeating: 0, count: n), biasGradient = [Float](repeating: 0, count: n)
        mean.withUnsafeBufferPointer { meanBuffer in
            rstd.withUnsafeBufferPointer { rstdBuffer in
                weightGradient.withUnsafeMutableBufferPointer { gwBuffer in
                    biasGradient.withUnsafeMutableBufferPointer { gbBuffer in
                        let pm = UncheckedSendable(meanBuffer.baseAddress!), pr = UncheckedSendable(rstdBuffer.baseAddress!)
                        let gw = UncheckedSendable(gwBuffer.baseAddress!), gb = UncheckedSendable(gbBuffer.baseAddress!)
                        let (pg, px) = (UncheckedSendable(g), UncheckedSendable(x))
                        Parallel.forChunks(n) { channels in
                            for c in channels {
                                slkd_channel_norm_parameter_gradients_f32(pg.value + c * inner, px.value + c * inner, lanes.outer,
                                                                          inner, n * inner, pm.value, pr.value, centred ? 1 : 0,
                                                                          gw.value + c, gb.value + c)
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: [n], scalars: weightGradient), Tensor(shape: [n], scalars: biasGradient))
    }
}
