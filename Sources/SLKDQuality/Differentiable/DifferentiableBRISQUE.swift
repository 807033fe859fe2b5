import Foundation

/// The BRISQUE feature extractor φ_B on B×C×H×W tensors, differentiable end to end
/// (quality README §7.1): per channel and scale, m = (F − μ)/(sqrt(|G⋆F² − μ²| + ε) + c) with
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
                let rows = LinearMaps.tensor(LinearMaps.halving(h), rows: (h + 1) / 2, columns: h, like: x)
                let cols = LinearMaps.tensor(LinearMaps.halving(w), rows: (w + 1) / 2, columns: w, like: x)
                x = LinearMaps.apply(rows: rows, columns: cols, to: x)
            }
            parts += scaleFeatures(x)
        }
        return LinearMaps.stackLast(parts)
    }

    /// The 18 features of one scale, each B×C.
    func scaleFeatures(_ x: Tensor) -> [Tensor] {
        let h = x.shape[2], w = x.shape[3]
        let gh = LinearMaps.tensor(LinearMaps.correlation(h, kernel: MSCN.window, padding: .zero), rows: h, columns: h, like: x)
        let gw = LinearMaps.tensor(LinearMaps.correlation(w, kernel: MSCN.window, padding: .zero), rows: w, columns: w, like: x)
        let mu = LinearMaps.apply(rows: gh, columns: gw, to: x)
        let second = LinearMaps.apply(rows: gh, columns: gw, to: x.squared())
        let sigma = ((second - mu.squared()).abs() + epsilon).sqrt()
        let m = (x - mu) / (sigma + c)

        let spatial = [2, 3]
        let meanSquare = m.squared().mean(axes: spatial)
        let meanAbs = m.abs().mean(axes: spatial)
        let delta = ratioEpsilon
        var out = [Self.shape((meanSquare + delta) / (meanAbs.squared() + delta)), meanSquare]
        for (dy, dx) in BRISQUE.shifts {
            // shifted[i, j] = m[(i − dy) mod H, (j − dx) mod W] (circshift), an O(HW) index map.
            let p = m * m.rolled(shifts: [dy, dx], axes: [2, 3])
            let squares = p.squared()
            let left = (p < 0), right = (p > 0)
            let leftSq = (squares * left).sum(axes: spatial) / left.sum(axes: spatial).clamp(min: 1)
            let rightSq = (squares * right).sum(axes: spatial) / right.sum(axes: spatial).clamp(min: 1)
            let sigmaL = (leftSq + epsilon).sqrt(), sigmaR = (rightSq + epsilon).sqrt()
            let g = sigmaL / sigmaR
            let rHat = (p.abs().mean(axes: spatial).squared() + delta) / (squares.mean(axes: spatial) + delta)
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
        var alpha = [Double](), slope = [Double]()
        for t in values {
            let a = DistributionFit.inverseGGDRatio(t)
            alpha.append(a)
            slope.append(t < upper && t > lower ? 1 / (t * DistributionFit.logRatioDerivative(a)) : 0)
        }
        var a0 = Tensor(shape: ratio.shape, scalars: alpha), k = Tensor(shape: ratio.shape, scalars: slope)
        if ratio.dtype != .float64 { a0 = a0.cast(to: ratio.dtype); k = k.cast(to: ratio.dtype) }
        return a0 + k * (ratio - ratio.detached())
    }
}
