import Foundation
import Testing
import SLKDQuality

@Suite("BRISQUE against the LIVE reference")
struct BRISQUEReferenceTests {
    /// Features in LIVE order: α entries (0, 2, 6, 10, 14 per scale) are grid values.
    static let alphaIndices: Set<Int> = Set([0, 2, 6, 10, 14].flatMap { [$0, $0 + 18] })

    @Test("MATLAB rgb2gray reproduces the grey PNGs", arguments: QualityReference.imageNames.filter { !$0.hasPrefix("camera") })
    func matlabGray(name: String) throws {
        let entry = try QualityReference.entry(name)
        let rgb = try QualityReference.image(try #require(entry["file"] as? String))
        let grey = try QualityReference.image(try #require(entry["gray_file"] as? String))
        #expect(ColorConversion.matlabGray(rgb) == grey.pixels)
    }

    @Test("features, scaled features and score", arguments: QualityReference.imageNames)
    func features(name: String) throws {
        let entry = try QualityReference.entry(name)
        let live = try entry.dict("brisque_live")
        let image = try QualityReference.image(try #require(entry["file"] as? String))
        let features = try BRISQUE.features(image)
        let expected = try live.doubles("features")
        try #require(features.count == 36)
        for k in 0..<36 {
            if Self.alphaIndices.contains(k) {
                expectClose(features[k], expected[k], atol: 1e-3 + 1e-12, "\(name) α f\(k + 1)")
            } else {
                expectClose(features[k], expected[k], rtol: 1e-9, atol: 1e-15, "\(name) f\(k + 1)")
            }
        }
        let model = try BRISQUE.Model.live()
        let scaled = model.scale(expected)
        for (k, (a, b)) in zip(scaled, try live.doubles("scaled_features")).enumerated() {
            expectClose(a, b, rtol: 1e-12, atol: 1e-12, "\(name) scaled f\(k + 1)")
        }
        expectClose(try BRISQUE.score(image), try live.double("score"), atol: 1e-6, "\(name) score")
    }

    @Test("features without the flat-region snap", arguments: QualityReference.imageNames)
    func noSnap(name: String) throws {
        let entry = try QualityReference.entry(name)
        let live = try entry.dict("brisque_live")
        let image = try QualityReference.image(try #require(entry["file"] as? String))
        let options = BRISQUE.Options(mscn: MSCN.Options(snapThreshold: 0))
        let features = try BRISQUE.features(image, options: options)
        let expected = try live.doubles("features_nosnap"), snapped = try live.doubles("features")
        try #require(expected.count == 36 && snapped.count == 36 && features.count == 36)
        // Without the snap the sign of rounding noise in flat windows decides σ_l/σ_r
        // (Docs/Quality.md#flat-window-snap), which is not portable. Where the snap changes nothing in the reference the
        // feature must match exactly; where it does, ours must stay within the reference's own
        // snap sensitivity of the reference's no-snap value.
        var exact = 0
        for k in 0..<36 {
            if expected[k] == snapped[k] {
                expectClose(features[k], expected[k], rtol: 1e-9, atol: 1e-15, "\(name) nosnap f\(k + 1)")
                exact += 1
            } else {
                let band = 2 * abs(snapped[k] - expected[k])
                #expect(features[k].isFinite && abs(features[k] - expected[k]) <= band,
                        "\(name) nosnap f\(k + 1): got \(features[k]), reference \(expected[k]) ± \(band)")
            }
        }
        // The GGD features (f1, f2, f19, f20) are snap-free in every reference image, and at
        // least two more in each (camera_jpeg10 has the fewest: 6).
        #expect(exact >= 6, "\(name): only \(exact) features are snap-independent")
    }

    @Test("per-scale image, MSCN and fit details", arguments: QualityReference.imageNames)
    func details(name: String) throws {
        let entry = try QualityReference.entry(name)
        let image = try QualityReference.image(try #require(entry["file"] as? String))
        var plane = image.channels == 3 ? ColorConversion.matlabGray(image) : image.pixels
        var w = image.width, h = image.height
        let details = try #require(try entry.dict("brisque_live")["details"] as? [[String: Any]])
        for (s, detail) in details.enumerated() {
            if s == 1 { (plane, w, h) = MATLABResize.half(plane, width: w, height: h) }
            let im = try detail.dict("image")
            #expect(try im.doubles("shape") == [Double(h), Double(w)])
            expectClose(plane.reduce(0, +), try im.double("sum"), rtol: 1e-12, "\(name) s\(s + 1) image sum")
            expectClose(plane.map { $0 * $0 }.reduce(0, +), try im.double("sum_sq"), rtol: 1e-12, "\(name) s\(s + 1) image sum²")
            let points = try im.dict("points")
            for (key, value) in points {
                let p = try #require(value as? [NSNumber])
                expectClose(plane[p[0].intValue * w + p[1].intValue], p[2].doubleValue, rtol: 1e-12, atol: 1e-12,
                            "\(name) s\(s + 1) image \(key)")
            }
            let m = MSCN.coefficients(plane, width: w, height: h)
            let ms = try detail.dict("mscn")
            expectClose(m.reduce(0, +), try ms.double("sum"), rtol: 1e-9, atol: 1e-9, "\(name) s\(s + 1) MSCN sum")
            expectClose(m.map { $0 * $0 }.reduce(0, +), try ms.double("sum_sq"), rtol: 1e-10, "\(name) s\(s + 1) MSCN sum²")
            for (key, value) in try ms.dict("points") {
                let p = try #require(value as? [NSNumber])
                expectClose(m[p[0].intValue * w + p[1].intValue], p[2].doubleValue, rtol: 1e-9, atol: 1e-12,
                            "\(name) s\(s + 1) MSCN \(key)")
            }
            let ggd = DistributionFit.fitGGD(m)
            let g = try detail.dict("ggd")
            expectClose(ggd.rho, try g.double("rho"), rtol: 1e-10, "\(name) s\(s + 1) GGD ρ")
            expectClose(ggd.alpha, try g.double("alpha"), atol: 1e-12, "\(name) s\(s + 1) GGD α")
            let aggd = try #require(detail["aggd"] as? [[String: Any]])
            for (k, (dy, dx)) in BRISQUE.shifts.enumerated() {
                var products = [Double](repeating: 0, count: m.count)
                for i in 0..<h { for j in 0..<w {
                    products[i * w + j] = m[i * w + j] * m[((i - dy + h) % h) * w + (j - dx + w) % w]
                } }
                let fit = DistributionFit.fitAGGD(products)
                expectClose(fit.rHatNormalised, try aggd[k].double("rhatnorm"), rtol: 1e-10, "\(name) s\(s + 1) shift \(k) R̂")
                expectClose(fit.alpha, try aggd[k].double("alpha"), atol: 1e-12, "\(name) s\(s + 1) shift \(k) α")
                #expect(products.filter { $0 < 0 }.count == (aggd[k]["n_neg"] as? Int), "\(name) s\(s + 1) shift \(k) n_neg")
                #expect(products.filter { $0 > 0 }.count == (aggd[k]["n_pos"] as? Int), "\(name) s\(s + 1) shift \(k) n_pos")
            }
        }
    }

    @Test("continuous α (bisection + Newton)", arguments: QualityReference.imageNames)
    func continuous(name: String) throws {
        let entry = try QualityReference.entry(name)
        let image = try QualityReference.image(try #require(entry["file"] as? String))
        let features = try BRISQUE.features(image, options: BRISQUE.Options(estimation: .continuous))
        let expected = try entry.dict("proposed_extractors").doubles("brisque_continuous_features")
        for k in 0..<36 {
            expectClose(features[k], expected[k], rtol: 1e-9, atol: 1e-12, "\(name) continuous f\(k + 1)")
        }
    }
}

@Suite("BRISQUE closed forms")
struct BRISQUEClosedFormTests {
    @Test func ggdRatioKnownValues() {
        expectClose(DistributionFit.ggdRatio(1), 2, rtol: 1e-14, "r(1)")
        expectClose(DistributionFit.ggdRatio(2), Double.pi / 2, rtol: 1e-14, "r(2)")
        expectClose(DistributionFit.ggdRatio(0.2), 15.8889, rtol: 1e-5, "r(0.2)")
        expectClose(DistributionFit.ggdRatio(10), 1.350376, rtol: 1e-6, "r(10)")
    }

    @Test func continuousInverseRecoversShape() {
        for alpha in [0.25, 0.7, 1, 2, 3.3, 9.5] {
            expectClose(DistributionFit.inverseGGDRatio(DistributionFit.ggdRatio(alpha)), alpha, rtol: 1e-12, "α = \(alpha)")
        }
        #expect(DistributionFit.inverseGGDRatio(100) == 0.2)
        #expect(DistributionFit.inverseGGDRatio(1.2) == 10)
    }

    @Test func gaussianSamplesGiveShapeTwo() {
        // ±1 with equal mass: ρ = 1 → beyond r(10), so the grid end 10 (Docs/Quality.md#ggd-fit).
        #expect(DistributionFit.fitGGD([1, -1, 1, -1]).alpha == 10)
        // Laplacian-like ratio ρ = 2 → α = 1 exactly on the grid.
        let fit = DistributionFit.fitGGD([0, 0, 2, -2] as [Double]) // mean x² = 2, mean|x| = 1
        #expect(fit.alpha == DistributionFit.grid[800])
        #expect(fit.sigmaSquared == 2)
    }

    @Test func resizeKeepsConstantsAndHalvesSizes() {
        for (w, h) in [(1, 1), (2, 3), (7, 5), (16, 9)] {
            let out = MATLABResize.half([Double](repeating: 42, count: w * h), width: w, height: h)
            #expect(out.width == (w + 1) / 2 && out.height == (h + 1) / 2)
            #expect(out.pixels.allSatisfy { abs($0 - 42) < 1e-12 })
        }
    }

    @Test func svmScaleIsExactAtTheRangeEnds() throws {
        let model = try BRISQUE.Model.live()
        #expect(model.coefficients.count == 774)
        #expect(model.ranges.count == 36)
        #expect(model.rho == -153.591 && model.gamma == 0.05)
        let mins = model.ranges.map(\.min), maxs = model.ranges.map(\.max)
        #expect(model.scale(mins).allSatisfy { $0 == -1 })
        #expect(model.scale(maxs).allSatisfy { $0 == 1 })
    }
}
