import Foundation

extension FeatureOps {
    /// MSCN coefficients of every H×W plane, fused into one differentiable op:
    /// m = (x − μ)/(sqrt(|G⋆x² − μ²| + ε) + c), μ = G⋆x, G the separable `kernel` with the given
    /// border. The backward pass applies the transposed band to ∂L/∂μ and ∂L/∂(G⋆x²):
    /// with s = G⋆x² − μ², σ = sqrt(|s| + ε), d = σ + c and q = −g·(x − μ)/d²,
    /// g_s = q·sign(s)/(2σ), g_μ = −g/d − 2μ·g_s, and ∂L/∂x = g/d + Gᵀg_μ + 2x·Gᵀg_s
    /// (sign(0) = 0 as `abs`; g_s = 0 where σ = 0, i.e. only with ε = 0).
    public static func mscn(_ x: Tensor, kernel: [Double] = MSCN.window, padding: BorderPadding,
                            c: Double = 1, epsilon: Double = 0) -> Tensor {
        precondition(x.rank >= 2, "MSCN needs …×H×W, got \(x.shape)")
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
        let maps = (rows: AxisMap.correlation(h, kernel: kernel, padding: padding),
                    columns: AxisMap.correlation(w, kernel: kernel, padding: padding))
        let input = x.detached()
        return x.dtype.withFloatType("MSCN") { mscn(input, x, maps, c: c, epsilon: epsilon, as: $0) }
    }

    static func mscn<T: TensorScalar>(_ input: Tensor, _ x: Tensor, _ maps: (rows: AxisMap, columns: AxisMap),
                                      c: Double, epsilon: Double, as _: T.Type) -> Tensor {
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1], n = h * w
        let planes = x.count / Swift.max(n, 1)
        let band = PlaneBand<T>(rows: maps.rows, columns: maps.columns)
        let cT = T(c), eps = T(epsilon)
        // m, and μ and s = G⋆x² − μ² kept for the backward pass.
        let (value, m) = Tensor.uninitialized(x.shape, T.self)
        let (muT, mu) = Tensor.uninitialized(x.shape, T.self)
        let (sT, s) = Tensor.uninitialized(x.shape, T.self)
        input.withContiguousScalars(T.self) { src in
            let sp = UncheckedSendable(src.baseAddress!), dp = UncheckedSendable(m.baseAddress!)
            let mp = UncheckedSendable(mu.baseAddress!), vp = UncheckedSendable(s.baseAddress!)
            Parallel.forChunks(planes, grain: Swift.max(1, 8192 / Swift.max(n, 1))) { range in
                let tmp = UnsafeMutablePointer<T>.allocate(capacity: 2 * n)
                defer { tmp.deallocate() }
                let squares = tmp + n
                for p in range {
                    let xp = sp.value + p * n, mup = mp.value + p * n, sqp = vp.value + p * n
                    let out = dp.value + p * n
                    for i in 0..<n { squares[i] = xp[i] * xp[i] }
                    band.apply(xp, width: w, into: mup, scratch: tmp)
                    band.apply(squares, width: w, into: sqp, scratch: tmp)
                    // Two simple loops (they vectorise; one fused loop did not).
                    for i in 0..<n { sqp[i] -= mup[i] * mup[i] }
                    for i in 0..<n { out[i] = (xp[i] - mup[i]) / ((Swift.abs(sqp[i]) + eps).squareRoot() + cT) }
                }
            }
        }
        return Tensor.differentiable(value: value, inputs: [x], name: "mscn") { g in
            [mscnBackward(g, input: input, mu: muT, s: sT, maps: maps, c: c, epsilon: epsilon, as: T.self)]
        }
    }

    static func mscnBackward<T: TensorScalar>(_ g: Tensor, input: Tensor, mu: Tensor, s: Tensor,
                                              maps: (rows: AxisMap, columns: AxisMap),
                                              c: Double, epsilon: Double, as _: T.Type) -> Tensor {
        let shape = input.shape
        let h = shape[shape.count - 2], w = shape[shape.count - 1], n = h * w
        let planes = input.count / Swift.max(n, 1)
        let band = PlaneBand<T>(rows: maps.rows.transposed, columns: maps.columns.transposed)
        let cT = T(c), eps = T(epsilon)
        let gc = g.dtype == input.dtype ? g : g.cast(to: input.dtype)
        let (result, dst) = Tensor.uninitialized(shape, T.self)
        gc.withContiguousScalars(T.self) { gp in
            input.withContiguousScalars(T.self) { xp in
                mu.withContiguousScalars(T.self) { mup in
                    s.withContiguousScalars(T.self) { sp in
                        let g = UncheckedSendable(gp.baseAddress!), x = UncheckedSendable(xp.baseAddress!)
                        let m = UncheckedSendable(mup.baseAddress!), v = UncheckedSendable(sp.baseAddress!)
                        let d = UncheckedSendable(dst.baseAddress!)
                        Parallel.forChunks(planes, grain: Swift.max(1, 8192 / Swift.max(n, 1))) { range in
                            let tmp = UnsafeMutablePointer<T>.allocate(capacity: 5 * n)
                            defer { tmp.deallocate() }
                            let gMu = tmp + n, gS = tmp + 2 * n, backMu = tmp + 3 * n, backS = tmp + 4 * n
                            for p in range {
                                let gi = g.value + p * n, xi = x.value + p * n
                                let mi = m.value + p * n, si = v.value + p * n, out = d.value + p * n
                                for i in 0..<n {
                                    let sigma = (Swift.abs(si[i]) + eps).squareRoot(), den = sigma + cT
                                    let q = -gi[i] * (xi[i] - mi[i]) / (den * den)
                                    let sign: T = si[i] > 0 ? 1 : (si[i] < 0 ? -1 : 0)
                                    let gs = sigma > 0 ? q * sign / (2 * sigma) : 0
                                    gS[i] = gs
                                    gMu[i] = -gi[i] / den - 2 * mi[i] * gs
                                    out[i] = gi[i] / den
                                }
                                band.apply(gMu, width: w, into: backMu, scratch: tmp)
                                band.apply(gS, width: w, into: backS, scratch: tmp)
                                for i in 0..<n { out[i] += backMu[i] + 2 * xi[i] * backS[i] }
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
