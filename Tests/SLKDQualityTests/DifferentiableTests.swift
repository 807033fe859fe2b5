import Foundation
import Testing
import SLKDQuality

/// Σ_j w_j f_j with w_j = 1/(1 + j) over the flattened features, as differentiable.json.
func weightedLoss(_ features: Tensor) -> Tensor {
    let n = features.count
    let w = Tensor(shape: features.shape, scalars: (0..<n).map { 1 / (1 + Double($0)) })
    return (features * w).sum()
}

@Suite("Differentiable extractors against PyTorch")
struct DifferentiableReferenceTests {
    static func input() throws -> Tensor {
        let d = try QualityReference.json("differentiable.json").dict("input")
        return Tensor(shape: [2, 3, 32, 32], scalars: try d.doubles("values"))
    }

    @Test func brisqueFeaturesLossAndGradient() throws {
        let ref = try QualityReference.json("differentiable.json").dict("brisque_extractor")
        let x = try Self.input().requiringGrad()
        let features = DifferentiableBRISQUE()(x)
        #expect(features.shape == [2, 3, 36])
        let expected = try ref.doubles("features")
        for (k, (a, b)) in zip(features.doubles, expected).enumerated() {
            expectClose(a, b, rtol: 1e-9, atol: 1e-12, "feature \(k)")
        }
        let loss = weightedLoss(features)
        expectClose(loss.item, try ref.double("loss"), rtol: 1e-10, "loss")
        let grad = loss.gradients(wrt: [x])[0].doubles
        let expectedGrad = try ref.doubles("grad")
        let scale = expectedGrad.map { abs($0) }.max() ?? 1
        for (k, (a, b)) in zip(grad, expectedGrad).enumerated() {
            expectClose(a, b, rtol: 1e-6, atol: 1e-9 * scale, "grad \(k)")
        }
    }

    @Test func piqeFeaturesLossAndGradient() throws {
        let ref = try QualityReference.json("differentiable.json").dict("piqe_extractor")
        let x = try Self.input().requiringGrad()
        let features = DifferentiablePIQE(tau: 0.01, tauMin: 0.002, epsilon: 1e-12)(x)
        #expect(features.shape == [2, 3, 29])
        for (k, (a, b)) in zip(features.doubles, try ref.doubles("features")).enumerated() {
            expectClose(a, b, rtol: 1e-9, atol: 1e-12, "feature \(k)")
        }
        let loss = weightedLoss(features)
        expectClose(loss.item, try ref.double("loss"), rtol: 1e-10, "loss")
        let grad = loss.gradients(wrt: [x])[0].doubles
        let expectedGrad = try ref.doubles("grad")
        let scale = expectedGrad.map { abs($0) }.max() ?? 1
        for (k, (a, b)) in zip(grad, expectedGrad).enumerated() {
            expectClose(a, b, rtol: 1e-6, atol: 1e-9 * scale, "grad \(k)")
        }
    }

    /// Float32 runs of both extractors against the Float64 reference: features, loss and input
    /// gradient within Float32 tolerances (relative to the largest entry for the gradient).
    @Test(arguments: ["brisque_extractor", "piqe_extractor"])
    func float32ExtractorsMatchTheReference(_ name: String) throws {
        let ref = try QualityReference.json("differentiable.json").dict(name)
        let x = try Self.input().cast(to: .float32).requiringGrad()
        let features = name == "brisque_extractor" ? DifferentiableBRISQUE()(x) : DifferentiablePIQE()(x)
        #expect(features.dtype == .float32)
        let expected = try ref.doubles("features")
        let featureScale = expected.map { abs($0) }.max() ?? 1
        for (k, (a, b)) in zip(features.doubles, expected).enumerated() {
            expectClose(a, b, rtol: 2e-4, atol: 1e-6 * featureScale, "feature \(k)")
        }
        let loss = weightedLoss(features.cast(to: .float64))
        expectClose(loss.item, try ref.double("loss"), rtol: 1e-5, "loss")
        let grad = loss.gradients(wrt: [x])[0]
        #expect(grad.dtype == .float32)
        let expectedGrad = try ref.doubles("grad")
        let scale = expectedGrad.map { abs($0) }.max() ?? 1
        // PIQE's steps have temperatures τ = 0.01 and τm = 0.002: its gradient carries Float32
        // rounding of the MSCN values multiplied by up to 1/(τ·τm), measured 3.4e-4 of the largest
        // entry; BRISQUE's stays within 1e-4 of it.
        let gradTolerance = name == "brisque_extractor" ? 1e-4 : 1e-3
        for (k, (a, b)) in zip(grad.doubles, expectedGrad).enumerated() {
            expectClose(a, b, rtol: 1e-3, atol: gradTolerance * scale, "grad \(k)")
        }
    }

    @Test func hardPIQEExtractorEqualsPiqeM() throws {
        let ref = try QualityReference.json("differentiable.json").dict("hard_piqe_vs_matlab_ref")
        let expected = try #require(ref["ref_scores"] as? [[Double]])
        let scores = DifferentiablePIQE.hard(try Self.input()).narrowed(axis: 2, start: 28, length: 1).doubles
        for b in 0..<2 { for c in 0..<3 { expectClose(scores[b * 3 + c], expected[b][c], rtol: 1e-12, "score \(b),\(c)") } }
    }
}

@Suite("Differentiable extractors: gradients")
struct DifferentiableGradientTests {
    static func smoothInput(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.uniform(shape, low: 20, high: 230, dtype: .float64, using: &generator)
    }

    @Test func brisqueOneScaleGradCheck() {
        let x = Self.smoothInput([1, 2, 16, 16], seed: 7)
        let report = gradCheck([x], eps: 1e-6, atol: 1e-5, rtol: 1e-3) { DifferentiableBRISQUE(scales: 1)($0[0]) }
        #expect(report.passed, "\(report)")
    }

    @Test func brisqueTwoScalesGradCheck() {
        let x = Self.smoothInput([1, 1, 12, 14], seed: 3)
        let report = gradCheck([x], eps: 1e-6, atol: 1e-5, rtol: 1e-3) { DifferentiableBRISQUE()($0[0]) }
        #expect(report.passed, "\(report)")
    }

    @Test func piqeGradCheck() {
        let x = Self.smoothInput([1, 2, 16, 16], seed: 5)
        let report = gradCheck([x], eps: 1e-6, atol: 1e-5, rtol: 1e-3) { DifferentiablePIQE()($0[0]) }
        #expect(report.passed, "\(report)")
    }

    @Test func hardPIQEMatchesTheExactMetricOnOddSizes() throws {
        // Replicate padding to 32×32, integer pixels: the hard extractor is piqe.m.
        var state: UInt64 = 2024
        let pixels = (0..<(27 * 21)).map { i -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double((i / 5) % 97 + Int(state >> 59))
        }
        let x = Tensor(shape: [1, 1, 27, 21], scalars: pixels)
        let hard = DifferentiablePIQE.hard(x)
        #expect(hard.shape == [1, 1, 29])
        let exact = try PIQE.score(try QualityImage(width: 21, height: 27, pixels: pixels))
        expectClose(hard.doubles[28], exact, rtol: 1e-12, "score")
    }

    @Test func continuousFeaturesMatchTheExactExtractor() throws {
        // With ε = 0 and no snap the tensor extractor is the exact one with continuous α.
        let x = Self.smoothInput([1, 1, 24, 20], seed: 11)
        let tensorFeatures = DifferentiableBRISQUE(epsilon: 0)(x).doubles
        let image = try QualityImage(width: 20, height: 24, pixels: x.doubles)
        let exact = try BRISQUE.features(image, options: .init(mscn: .init(snapThreshold: 0), estimation: .continuous))
        for k in 0..<36 { expectClose(tensorFeatures[k], exact[k], rtol: 1e-9, atol: 1e-12, "f\(k + 1)") }
    }
}
