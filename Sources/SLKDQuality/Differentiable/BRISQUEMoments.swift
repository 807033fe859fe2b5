import Foundation

extension FeatureOps {
    /// The circular neighbour shifts of BRISQUE's paired products, in LIVE order.
    static let pairShifts = BRISQUE.shifts

    /// The moment sums BRISQUE's features are made of, per H×W plane of MSCN coefficients m, in
    /// one pass and one differentiable op: `sums` (…×18) holds [Σm², Σ|m|] and, for each shift
    /// (dy, dx) of ``BRISQUE/shifts`` and p = m·circshift(m, (dy, dx)), [Σp²·[p<0], Σp²·[p>0],
    /// Σ|p|, Σp²]; `counts` (…×8, no gradient) holds [N_l, N_r] = #[p<0], #[p>0] per shift.
    /// Sums accumulate in Float64. Backward: ∂/∂p of the four sums is 2p·[p<0], 2p·[p>0],
    /// sign(p), 2p, and p = m_i·m_j sends g_p·m_j to i and g_p·m_i to j.
    public static func brisqueMoments(_ m: Tensor) -> (sums: Tensor, counts: Tensor) {
        precondition(m.rank >= 2, "BRISQUE moments need …×H×W, got \(m.shape)")
        return m.dtype.withFloatType("BRISQUE moments") { brisqueMoments(m, as: $0) }
    }

    static func brisqueMoments<T: TensorScalar>(_ m: Tensor, as _: T.Type) -> (sums: Tensor, counts: Tensor) {
        let h = m.shape[m.rank - 2], w = m.shape[m.rank - 1], n = h * w
        let planes = m.count / Swift.max(n, 1)
        let lead = Array(m.shape.dropLast(2))
        var sums = [Double](repeating: 0, count: planes * 18), counts = [Double](repeating: 0, count: planes * 8)
        let input = m.detached()
        let runs = pairShifts.map { pairRuns(height: h, width: w, dy: $0.0, dx: $0.1) }
        input.withContiguousScalars(T.self) { src in
            sums.withUnsafeMutableBufferPointer { sums in
                counts.withUnsafeMutableBufferPointer { counts in
                    let sp = UncheckedSendable(src.baseAddress!), up = UncheckedSendable(sums.baseAddress!)
                    let cp = UncheckedSendable(counts.baseAddress!)
                    Parallel.forChunks(planes, grain: Swift.max(1, 8192 / Swift.max(n, 1))) { range in
                        for p in range {
                            let x = sp.value + p * n, out = up.value + p * 18, cnt = cp.value + p * 8
                            var sq = 0.0, ab = 0.0
                            for i in 0..<n {
                                let v = Double(x[i])
                                sq += v * v
                                ab += Swift.abs(v)
                            }
                            out[0] = sq
                            out[1] = ab
                            for k in 0..<pairShifts.count {
                                // Four interleaved partial sums (a strict floating-point reduction
                                // does not vectorise; four independent chains keep the units busy).
                                var l = SIMD4<Double>(), r = SIMD4<Double>(), a = SIMD4<Double>()
                                var nl = SIMD4<Double>(), nr = SIMD4<Double>()
                                let one = SIMD4<Double>(repeating: 1)
                                for run in runs[k] {
                                    let u = x + run.first, v = x + run.partner
                                    var t = 0
                                    while t + 4 <= run.count {
                                        let q = SIMD4<Double>(Double(u[t] * v[t]), Double(u[t + 1] * v[t + 1]),
                                                              Double(u[t + 2] * v[t + 2]), Double(u[t + 3] * v[t + 3]))
                                        let q2 = q * q, zero = SIMD4<Double>()
                                        l += q2.replacing(with: zero, where: q .>= zero)
                                        r += q2.replacing(with: zero, where: q .<= zero)
                                        // Counted by masks, not branches: the signs are random.
                                        nl += one.replacing(with: zero, where: q .>= zero)
                                        nr += one.replacing(with: zero, where: q .<= zero)
                                        a += q.replacing(with: -q, where: q .< zero)
                                        t += 4
                                    }
                                    while t < run.count {
                                        let q = Double(u[t] * v[t]), q2 = q * q
                                        if q < 0 { l[0] += q2; nl[0] += 1 } else if q > 0 { r[0] += q2; nr[0] += 1 }
                                        a[0] += Swift.abs(q)
                                        t += 1
                                    }
                                }
                                let left = l.sum(), right = r.sum()
                                out[2 + 4 * k] = left
                                out[3 + 4 * k] = right
                                out[4 + 4 * k] = a.sum()
                                out[5 + 4 * k] = left + right
                                cnt[2 * k] = nl.sum()
                                cnt[2 * k + 1] = nr.sum()
                            }
                        }
                    }
                }
            }
        }
        var sumsT = Tensor(shape: lead + [18], scalars: sums), countsT = Tensor(shape: lead + [8], scalars: counts)
        if m.dtype != .float64 {
            sumsT = sumsT.cast(to: m.dtype)
            countsT = countsT.cast(to: m.dtype)
        }
        let value = Tensor.differentiable(value: sumsT, inputs: [m], name: "brisqueMoments") { g in
            [brisqueMomentsBackward(g, input: input, as: T.self)]
        }
        return (value, countsT)
    }

    /// A run of pixels `first..<first + count` of a plane whose circshift partners are the
    /// consecutive pixels from `partner`.
    struct PairRun: Sendable {
        var first: Int, partner: Int, count: Int
    }

    /// The pixels i of an h×w plane with their circshift partners
    /// j = ((y − dy) mod h, (x − dx) mod w), as runs: per row the unwrapped columns, then each
    /// wrapped column on its own.
    static func pairRuns(height h: Int, width w: Int, dy: Int, dx: Int) -> [PairRun] {
        let lo = Swift.min(w, Swift.max(0, dx)), hi = Swift.max(lo, Swift.min(w, w + dx))
        var runs = [PairRun]()
        for y in 0..<h {
            let sy = ((y - dy) % h + h) % h
            let row = y * w, partner = sy * w
            if lo < hi { runs.append(PairRun(first: row + lo, partner: partner + lo - dx, count: hi - lo)) }
            for x in Array(0..<lo) + Array(hi..<w) {
                runs.append(PairRun(first: row + x, partner: partner + ((x - dx) % w + w) % w, count: 1))
            }
        }
        return runs
    }

    static func brisqueMomentsBackward<T: TensorScalar>(_ g: Tensor, input: Tensor, as _: T.Type) -> Tensor {
        let shape = input.shape
        let h = shape[shape.count - 2], w = shape[shape.count - 1], n = h * w
        let planes = input.count / Swift.max(n, 1)
        let gd = g.doubles
        let runs = pairShifts.map { pairRuns(height: h, width: w, dy: $0.0, dx: $0.1) }
        let (out, dst) = Tensor.uninitialized(shape, T.self)
        input.withContiguousScalars(T.self) { src in
            let sp = UncheckedSendable(src.baseAddress!), dp = UncheckedSendable(dst.baseAddress!)
            gd.withUnsafeBufferPointer { gb in
                let gp = gb.baseAddress!
                Parallel.forChunks(planes, grain: Swift.max(1, 8192 / Swift.max(n, 1))) { range in
                    let scratch = UnsafeMutablePointer<T>.allocate(capacity: n)
                    defer { scratch.deallocate() }
                    for p in range {
                        let x = sp.value + p * n, out = dp.value + p * n, gs = gp + p * 18
                        let g0 = T(2 * gs[0]), g1 = T(gs[1])
                        for i in 0..<n {
                            let v = x[i]
                            out[i] = g0 * v + (v > 0 ? g1 : (v < 0 ? -g1 : 0))
                        }
                        for k in 0..<pairShifts.count {
                            let gl = T(2 * gs[2 + 4 * k]), gr = T(2 * gs[3 + 4 * k])
                            let ga = T(gs[4 + 4 * k]), gq = T(2 * gs[5 + 4 * k])
                            // ∂L/∂p per pixel, then p = m_i·m_j sends it to i (times m_j) and j (times m_i).
                            for run in runs[k] {
                                let u = x + run.first, v = x + run.partner, gp = scratch + run.first
                                for t in 0..<run.count {
                                    let q = u[t] * v[t]
                                    // Selects of values, not branches (random signs mispredict).
                                    let side = q < 0 ? gl : (q > 0 ? gr : 0)
                                    let sign: T = q < 0 ? -1 : (q > 0 ? 1 : 0)
                                    gp[t] = (side + gq) * q + ga * sign
                                }
                                let ou = out + run.first
                                for t in 0..<run.count { ou[t] += gp[t] * v[t] }
                                let ov = out + run.partner
                                for t in 0..<run.count { ov[t] += gp[t] * u[t] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
