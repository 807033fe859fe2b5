import Foundation

/// The BRISQUE feature extractor φ_B on B×C×H×W tensors, differentiable end to end
/// (Docs/Quality.md#differentiable-extractors): per channel and scale, m = (F − μ)/(sqrt(|G⋆F² − μ²| + ε) + c) with
/// zero padding, [α_GGD, mean(m²)] and, for the four circular shifts, [α_AGGD, η, σ_l², σ_r²];
/// F ← MATLAB `imresize(F, 0.5)` as a fixed linear map between scales. α is the exact inverse of
/// the moment ratio with its gradient from the implicit-function theorem; the counts N_l, N_r are
/// treated as constants. Output: B×C×(18·scales).
public struct DifferentiableBRISQUE: Sendable {
    public var scales: Int
    /// The MSCN constant c (1 on the 0–255 scale).
    public var c: Double
    /// ε under the square roots, which keeps their gradients finite at 0.
    public var epsilon: Double
    /// δ added to numerator and denominator of the moment ratios mean(m²)/mean|m|² and
    /// mean|p|²/mean(p²), so that an exactly flat map (a dead feature channel: all m or all p
    /// zero) gives the ratio 1 (α clamped, zero gradient) instead of 0/0. 0 keeps LIVE's ratios.
    public var ratioEpsilon: Double

    public init(scales: Int = 2, c: Double = 1, epsilon: Double = 1e-12, ratioEpsilon: Double = 0) {
        precondition(scales >= 1, "scales must be at least 1")
        precondition(ratioEpsilon >= 0, "ratioEpsilon must be non-negative")
        self.scales = scales
        self.c = c
        self.epsilon = epsilon
        self.ratioEpsilon = ratioEpsilon
    }

    /// Features of `input` (B×C×H×W, float), in the order of ``BRISQUE/features(_:options:)``.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4, "DifferentiableBRISQUE takes B×C×H×W, got \(input.shape)")
        var x = input
        var parts = [Tensor]()
        for scale in 0..<scales {
            if scale > 0 {
                let h = x.shape[2], w = x.shape[3]
                x = FeatureOps.separable(x, rows: .halving(h), columns: .halving(w))
            }
            parts += scaleFeatures(x)
        }
        return Tensor.stacked(parts, axis: 2)
    }

    /// The 18 features of one scale, each B×C, from the fused MSCN and moment-sum kernels.
    func scaleFeatures(_ x: Tensor) -> [Tensor] {
        let n = Double(x.shape[2] * x.shape[3])
        let m = FeatureOps.mscn(x, padding: .zero, c: c, epsilon: epsilon)
        let (sums, counts) = FeatureOps.brisqueMoments(m)
        func sum(_ k: Int) -> Tensor { sums.narrowed(axis: 2, start: k, length: 1).squeezed(axis: 2) }
        func count(_ k: Int) -> Tensor { counts.narrowed(axis: 2, start: k, length: 1).squeezed(axis: 2) }

        let meanSquare = sum(0) / n, meanAbs = sum(1) / n
        let delta = ratioEpsilon
        var out = [Self.shape((meanSquare + delta) / (meanAbs.squared() + delta)), meanSquare]
        for k in 0..<BRISQUE.shifts.count {
            // p = m·circshift(m, shift): the sums of p²[p<0], p²[p>0], |p|, p² and the counts.
            let leftSq = sum(2 + 4 * k) / count(2 * k).clamp(min: 1)
            let rightSq = sum(3 + 4 * k) / count(2 * k + 1).clamp(min: 1)
            let sigmaL = (leftSq + epsilon).sqrt(), sigmaR = (rightSq + epsilon).sqrt()
            let g = sigmaL / sigmaR
            let rHat = ((sum(4 + 4 * k) / n).squared() + delta) / (sum(5 + 4 * k) / n + delta)
            let g2 = g.squared()
            let rHatNorm = rHat * (g2 * g + 1) * (g + 1) / (g2 + 1).squared()
            let alpha = Self.shape(1 / rHatNorm)
            let eta = (sigmaR - sigmaL) * ((2 / alpha).lgamma() - 0.5 * ((1 / alpha).lgamma() + (3 / alpha).lgamma())).exp()
            out += [alpha, eta, leftSq, rightSq]
        }
        return out
    }

    /// α = r⁻¹(ratio) per element with dα/d ratio = 1/(ratio · d log r/dα) (0 where clamped),
    /// recorded as α₀ + k·(ratio − ratio₀): the value is exactly α₀ and the gradient is k.
    static func shape(_ ratio: Tensor) -> Tensor {
        let values = ratio.doubles
        let upper = DistributionFit.ggdRatio(0.2), lower = DistributionFit.ggdRatio(10)
        var alpha = [Double](repeating: 0, count: values.count), slope = [Double](repeating: 0, count: values.count)
        alpha.withUnsafeMutableBufferPointer { alpha in
            slope.withUnsafeMutableBufferPointer { slope in
                let ap = UncheckedSendable(alpha.baseAddress!), sp = UncheckedSendable(slope.baseAddress!)
                // A few µs per solve: threads pay off from a few dozen channels.
                Parallel.forChunks(values.count, grain: 32) { range in
                    for i in range {
                        let t = values[i], a = DistributionFit.inverseGGDRatio(t)
                        ap.value[i] = a
                        sp.value[i] = t < upper && t > lower ? 1 / (t * DistributionFit.logRatioDerivative(a)) : 0
                    }
                }
            }
        }
        var a0 = Tensor(shape: ratio.shape, scalars: alpha), k = Tensor(shape: ratio.shape, scalars: slope)
        if ratio.dtype != .float64 { a0 = a0.cast(to: ratio.dtype); k = k.cast(to: ratio.dtype) }
        return a0 + k * (ratio - ratio.detached())
    }
}

extension DifferentiableBRISQUE {
    /// The features of one B×C×H×W input by name, each B×C×scales×n; the one place that knows
    /// the column layout of ``callAsFunction(_:)``.
    public struct Features {
        /// f_n: the GGD pair (α, σ²) of the MSCN map, n = 2.
        public var natural: Tensor
        /// f_c: the AGGD quadruples (α, η, σ_l², σ_r²) of the four neighbour products (horizontal,
        /// vertical, main and secondary diagonal), n = 16.
        public var colour: Tensor
    }

    /// ``callAsFunction(_:)`` split by name.
    public func features(_ input: Tensor) -> Features {
        let f = self(input).reshaped([input.shape[0], input.shape[1], scales, 18])
        return Features(natural: f.narrowed(axis: 3, start: 0, length: 2), colour: f.narrowed(axis: 3, start: 2, length: 16))
    }
}
