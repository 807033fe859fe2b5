import Foundation
import Testing
import SLKDQuality

/// The banded kernels of the extractors against the exact image code and direct sums, and their
/// Float64 gradient checks.
@Suite("Feature kernels")
struct FeatureOpsTests {
    static func input(_ shape: [Int], seed: UInt64, low: Double = 20, high: Double = 230) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.uniform(shape, low: low, high: high, dtype: .float64, using: &generator)
    }

    /// filter2(outer(k, k), plane) by a direct 2-D sum with the given border.
    static func directFilter(_ x: [Double], h: Int, w: Int, kernel k: [Double], padding: BorderPadding) -> [Double] {
        let half = k.count / 2
        var out = [Double](repeating: 0, count: h * w)
        for y in 0..<h {
            for xx in 0..<w {
                var acc = 0.0
                for a in 0..<k.count {
                    for b in 0..<k.count {
                        var yy = y + a - half, xc = xx + b - half
                        if padding == .zero {
                            if yy < 0 || yy >= h || xc < 0 || xc >= w { continue }
                        } else {
                            yy = min(h - 1, max(0, yy))
                            xc = min(w - 1, max(0, xc))
                        }
                        acc += k[a] * k[b] * x[yy * w + xc]
                    }
                }
                out[y * w + xx] = acc
            }
        }
        return out
    }

    @Test(arguments: [BorderPadding.zero, .replicate])
    func gaussianBandEqualsTheDirectFilter(padding: BorderPadding) {
        let (h, w) = (9, 13)
        let x = Self.input([2, h, w], seed: 1)
        let maps = (AxisMap.correlation(h, kernel: MSCN.window, padding: padding),
                    AxisMap.correlation(w, kernel: MSCN.window, padding: padding))
        let y = FeatureOps.separable(x, rows: maps.0, columns: maps.1).doubles
        let values = x.doubles
        for p in 0..<2 {
            let expected = Self.directFilter(Array(values[(p * h * w)..<((p + 1) * h * w)]), h: h, w: w,
                                             kernel: MSCN.window, padding: padding)
            for i in 0..<(h * w) { expectClose(y[p * h * w + i], expected[i], rtol: 1e-13, atol: 1e-12, "plane \(p) pixel \(i)") }
        }
    }

    @Test func halvingBandEqualsMATLABResize() {
        for (h, w) in [(15, 22), (8, 8), (3, 5)] {
            let x = Self.input([1, 1, h, w], seed: UInt64(h * w))
            let y = FeatureOps.separable(x, rows: .halving(h), columns: .halving(w))
            #expect(y.shape == [1, 1, (h + 1) / 2, (w + 1) / 2])
            let exact = MATLABResize.half(x.doubles, width: w, height: h)
            for (i, (a, b)) in zip(y.doubles, exact.pixels).enumerated() { expectClose(a, b, rtol: 1e-13, atol: 1e-12, "\(h)×\(w) \(i)") }
        }
    }

    @Test func replicatePadRepeatsTheLastRowAndColumn() {
        let x = Self.input([1, 2, 3, 4], seed: 2)
        let y = FeatureOps.separable(x, rows: .replicatePad(3, to: 5), columns: .replicatePad(4, to: 6))
        #expect(y.shape == [1, 2, 5, 6])
        let v = x.doubles, out = y.doubles
        for p in 0..<2 { for i in 0..<5 { for j in 0..<6 {
            #expect(out[(p * 5 + i) * 6 + j] == v[(p * 3 + min(i, 2)) * 4 + min(j, 3)])
        } } }
    }

    @Test func transposedBandIsTheMatrixTranspose() {
        let map = AxisMap.halving(11), t = map.transposed
        #expect(t.inputCount == map.outputCount && t.outputCount == map.inputCount)
        func dense(_ m: AxisMap) -> [[Double]] {
            (0..<m.outputCount).map { i in
                var row = [Double](repeating: 0, count: m.inputCount)
                for k in 0..<m.taps { row[m.start[i] + k] += m.weights[i * m.taps + k] }
                return row
            }
        }
        let a = dense(map), b = dense(t)
        for i in 0..<map.outputCount { for j in 0..<map.inputCount { #expect(a[i][j] == b[j][i]) } }
    }

    @Test func separableGradCheck() {
        let x = Self.input([1, 2, 9, 7], seed: 3, low: -1, high: 1)
        let report = gradCheck([x]) { t in
            let y = FeatureOps.separable(t[0], rows: .halving(9), columns: .halving(7))
            return FeatureOps.separable(y, rows: .replicatePad(5, to: 8), columns: .correlation(4, kernel: MSCN.window, padding: .replicate))
        }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [BorderPadding.zero, .replicate])
    func mscnEqualsTheExactCoefficients(padding: BorderPadding) {
        let (h, w) = (12, 17)
        let x = Self.input([1, 1, h, w], seed: 4)
        let m = FeatureOps.mscn(x, padding: padding, c: 1, epsilon: 0).doubles
        let exact = MSCN.coefficients(x.doubles, width: w, height: h, options: .init(padding: padding, c: 1, snapThreshold: 0))
        for (i, (a, b)) in zip(m, exact).enumerated() { expectClose(a, b, rtol: 1e-11, atol: 1e-12, "pixel \(i)") }
    }

    @Test(arguments: [BorderPadding.zero, .replicate])
    func mscnGradCheck(padding: BorderPadding) {
        let x = Self.input([2, 1, 8, 9], seed: 5)
        let report = gradCheck([x], eps: 1e-6, atol: 1e-5, rtol: 1e-3) { t in
            FeatureOps.mscn(t[0], padding: padding, c: 1, epsilon: 1e-12)
        }
        #expect(report.passed, "\(report)")
    }

    @Test func brisqueMomentsEqualDirectSums() {
        let (h, w) = (5, 7)
        let m = Self.input([1, 1, h, w], seed: 6, low: -2, high: 2)
        let (sums, counts) = FeatureOps.brisqueMoments(m)
        #expect(sums.shape == [1, 1, 18] && counts.shape == [1, 1, 8])
        let v = m.doubles, s = sums.doubles, c = counts.doubles
        expectClose(s[0], v.reduce(0) { $0 + $1 * $1 }, rtol: 1e-13, "Σm²")
        expectClose(s[1], v.reduce(0) { $0 + abs($1) }, rtol: 1e-13, "Σ|m|")
        for (k, (dy, dx)) in BRISQUE.shifts.enumerated() {
            var l = 0.0, r = 0.0, a = 0.0, nl = 0.0, nr = 0.0
            for i in 0..<h { for j in 0..<w {
                let p = v[i * w + j] * v[((i - dy + h) % h) * w + (j - dx + w) % w]
                if p < 0 { l += p * p; nl += 1 } else if p > 0 { r += p * p; nr += 1 }
                a += abs(p)
            } }
            expectClose(s[2 + 4 * k], l, rtol: 1e-13, "left \(k)")
            expectClose(s[3 + 4 * k], r, rtol: 1e-13, "right \(k)")
            expectClose(s[4 + 4 * k], a, rtol: 1e-13, "abs \(k)")
            expectClose(s[5 + 4 * k], l + r, rtol: 1e-13, "square \(k)")
            #expect(c[2 * k] == nl && c[2 * k + 1] == nr)
        }
    }

    @Test func brisqueMomentsGradCheck() {
        let m = Self.input([2, 1, 4, 6], seed: 7, low: -2, high: 2)
        let report = gradCheck([m]) { t in FeatureOps.brisqueMoments(t[0]).sums }
        #expect(report.passed, "\(report)")
    }

    @Test func blockStatisticsEqualPIQEBlocks() throws {
        // Integer grey 32×48: the MSCN of piqe.m, then the block statistics against PIQE's own.
        let (h, w) = (32, 48)
        var state: UInt64 = 99
        let grey = (0..<(h * w)).map { i -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double((i % 7) * 20 + Int(state >> 58))
        }
        let m = MSCN.coefficients(grey, width: w, height: h, options: .piqe)
        let stats = FeatureOps.blockStatistics(Tensor(shape: [h, w], scalars: m), blockSize: 16, epsilon: 0)
        #expect(stats.shape == [2, 3, 47])
        let result = PIQE.evaluate(grey: grey, width: w, height: h)
        let values = stats.doubles
        for (b, block) in result.blocks.enumerated() {
            let row = Array(values[(b * 47)..<((b + 1) * 47)])
            expectClose(row[0], block.variance, rtol: 1e-12, atol: 1e-14, "v \(b)")
            expectClose(row[1..<45].min()!, block.minSegmentStd, rtol: 1e-12, atol: 1e-14, "min segment \(b)")
            let cs = row[45] / row[46]
            expectClose(cs.isNaN ? 0 : cs, block.centreSurroundRatio, rtol: 1e-12, atol: 1e-14, "cs \(b)")
        }
    }

    @Test(arguments: [1e-12, 0])
    func blockStatisticsGradCheck(epsilon: Double) {
        let m = Self.input([1, 2, 8, 16], seed: 8, low: -2, high: 2)
        let report = gradCheck([m]) { t in FeatureOps.blockStatistics(t[0], blockSize: 8, epsilon: epsilon) }
        #expect(report.passed, "\(report)")
    }

    @Test func inverseRatioSolvesTheMomentRatio() {
        for alpha in [0.2004, 0.31, 0.777, 1, 1.5, 2, 3.3, 7.9, 9.9995] {
            let r = DistributionFit.ggdRatio(alpha)
            expectClose(DistributionFit.inverseGGDRatio(r), alpha, rtol: 1e-12, "α \(alpha)")
        }
        #expect(DistributionFit.inverseGGDRatio(100) == 0.2)
        #expect(DistributionFit.inverseGGDRatio(1.2) == 10)
        #expect(DistributionFit.inverseGGDRatio(.nan) == 0.2)
    }
}
