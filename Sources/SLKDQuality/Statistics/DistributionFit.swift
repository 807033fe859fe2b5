import Foundation

/// How the shape parameter α of a GGD/AGGD is found from the moment ratio.
public enum ShapeEstimation: Sendable, Equatable {
    /// LIVE: argmin over the grid 0.2:0.001:10 (first index on ties).
    case grid
    /// The exact inverse of the moment ratio: bisection in log α on [0.2, 10] (80 steps) and
    /// three Newton steps, clamped to the interval (Docs/Quality.md#implicit-shape).
    case continuous
}

/// A generalised Gaussian fit (`estimateggdparam.m`): shape α and second moment σ².
public struct GGDFit: Sendable, Equatable {
    public var alpha: Double
    public var sigmaSquared: Double
    /// ρ = mean(x²)/mean(|x|)², the matched moment ratio (NaN for all-zero samples).
    public var rho: Double
}

/// An asymmetric generalised Gaussian fit (`estimateaggdparam.m`).
public struct AGGDFit: Sendable, Equatable {
    public var alpha: Double
    /// η, the "meanparam": (σ_r − σ_l)·Γ(2/α)/sqrt(Γ(1/α)Γ(3/α)).
    public var eta: Double
    public var leftSigmaSquared: Double
    public var rightSigmaSquared: Double
    /// R̂, the normalised moment ratio matched against Γ(2/α)²/(Γ(1/α)Γ(3/α)).
    public var rHatNormalised: Double
}

/// GGD and AGGD moment-matching fits.
public enum DistributionFit {
    /// The LIVE grid γ_k = 0.2 + 0.001·k, k = 0…9800.
    public static let grid: [Double] = (0...9800).map { 0.2 + 0.001 * Double($0) }
    /// r(γ) = Γ(1/γ)Γ(3/γ)/Γ(2/γ)² on the grid (decreasing).
    static let ggdRatios: [Double] = grid.map { ggdRatio($0) }
    /// ρ_A(γ) = Γ(2/γ)²/(Γ(1/γ)Γ(3/γ)) on the grid (increasing).
    static let aggdRatios: [Double] = grid.map { g in tgamma(2 / g) * tgamma(2 / g) / (tgamma(1 / g) * tgamma(3 / g)) }

    /// r(γ) = Γ(1/γ)Γ(3/γ)/Γ(2/γ)².
    public static func ggdRatio(_ g: Double) -> Double {
        tgamma(1 / g) * tgamma(3 / g) / (tgamma(2 / g) * tgamma(2 / g))
    }

    /// d log r/dα = −[ψ(1/α) + 3ψ(3/α) − 4ψ(2/α)]/α².
    public static func logRatioDerivative(_ a: Double) -> Double {
        let psi = SpecialFunctions.digamma(1 / a) + 3 * SpecialFunctions.digamma(3 / a)
            - 4 * SpecialFunctions.digamma(2 / a)
        return -psi / (a * a)
    }

    /// α with r(α) = target, by the continuous solver; 0.2 and 10 at and beyond the ends.
    ///
    /// The root is bracketed between two neighbours of the LIVE grid (binary search in the
    /// tabulated r, which decreases), then found by Newton steps on log r that fall back to
    /// bisection whenever a step leaves the bracket — the root that 80 bisection steps in log α
    /// would give, to rounding, in a few evaluations instead of 80.
    public static func inverseGGDRatio(_ target: Double) -> Double {
        let lo = 0.2, hi = 10.0
        if !(target < ggdRatio(lo)) { return lo } // also NaN
        if target <= ggdRatio(hi) { return hi }
        let logTarget = log(target)
        // Largest k with r(γ_k) ≥ target: the root lies in [γ_k, γ_k+1].
        var k = ggdRatios.withUnsafeBufferPointer { r -> Int in
            var a = 0, b = r.count - 1
            while b - a > 1 {
                let mid = (a + b) / 2
                if r[mid] >= target { a = mid } else { b = mid }
            }
            return a
        }
        k = Swift.min(k, grid.count - 2)
        var a = grid[k], b = grid[k + 1]
        // Start from the linear interpolation of log r across the bracket.
        let ra = log(ggdRatios[k]), rb = log(ggdRatios[k + 1])
        var alpha = ra > rb ? a + (b - a) * (ra - logTarget) / (ra - rb) : 0.5 * (a + b)
        for _ in 0..<40 {
            let f = log(ggdRatio(alpha)) - logTarget
            if f == 0 { break }
            // log r decreases: f > 0 means the root lies above alpha.
            if f > 0 { a = alpha } else { b = alpha }
            var next = alpha - f / logRatioDerivative(alpha)
            if !(next > a && next < b) { next = 0.5 * (a + b) }
            if abs(next - alpha) <= 4 * Double.ulpOfOne * alpha { alpha = next; break }
            alpha = next
        }
        return Swift.min(hi, Swift.max(lo, alpha))
    }

    /// Fits a GGD to `x` (`estimateggdparam.m`). All-zero or empty samples give α = 0.2
    /// (MATLAB's `min` over an all-NaN vector returns its first index) and σ² = 0.
    public static func fitGGD(_ x: UnsafeBufferPointer<Double>, estimation: ShapeEstimation = .grid) -> GGDFit {
        var sumSquares = 0.0, sumAbs = 0.0
        for v in x {
            sumSquares += v * v
            sumAbs += abs(v)
        }
        let n = Double(Swift.max(x.count, 1))
        let sigmaSquared = sumSquares / n
        let meanAbs = sumAbs / n
        guard meanAbs > 0 else { return GGDFit(alpha: grid[0], sigmaSquared: sigmaSquared, rho: .nan) }
        let rho = sigmaSquared / (meanAbs * meanAbs)
        switch estimation {
        case .grid:
            var best = 0, bestDistance = Double.infinity
            ggdRatios.withUnsafeBufferPointer { r in
                for k in 0..<r.count {
                    let d = abs(rho - r[k])
                    if d < bestDistance { bestDistance = d; best = k }
                }
            }
            return GGDFit(alpha: grid[best], sigmaSquared: sigmaSquared, rho: rho)
        case .continuous:
            return GGDFit(alpha: inverseGGDRatio(rho), sigmaSquared: sigmaSquared, rho: rho)
        }
    }

    /// Fits an AGGD to `x` (`estimateaggdparam.m`). Zeros count in neither side; an empty side
    /// has σ² = 0, and R̂ takes its limit r̂ there. All-zero samples give α = 0.2, η = 0.
    public static func fitAGGD(_ x: UnsafeBufferPointer<Double>, estimation: ShapeEstimation = .grid) -> AGGDFit {
        var sums = AGGDSums()
        sums.add(x)
        return fitAGGD(sums, estimation: estimation)
    }

    /// The sums an AGGD fit needs, accumulated over samples given in pieces (in order, so that
    /// the result equals one pass over the concatenation, bit for bit): BRISQUE feeds the paired
    /// products row by row instead of holding an image-sized array of them.
    public struct AGGDSums: Sendable {
        var leftSum = 0.0, rightSum = 0.0, absSum = 0.0
        var leftCount = 0, rightCount = 0, count = 0

        public init() {}

        /// Adds the next samples.
        public mutating func add(_ x: UnsafeBufferPointer<Double>) {
            for v in x {
                let s = v * v
                if v < 0 { leftSum += s; leftCount += 1 } else if v > 0 { rightSum += s; rightCount += 1 }
                absSum += abs(v)
            }
            count += x.count
        }
    }

    /// Fits an AGGD to the samples summed in `sums`, as the one-pass fit over a buffer does.
    public static func fitAGGD(_ sums: AGGDSums, estimation: ShapeEstimation = .grid) -> AGGDFit {
        let (leftSum, rightSum, absSum, leftCount, rightCount) = (sums.leftSum, sums.rightSum, sums.absSum, sums.leftCount, sums.rightCount)
        let leftSq = leftCount > 0 ? leftSum / Double(leftCount) : 0
        let rightSq = rightCount > 0 ? rightSum / Double(rightCount) : 0
        let n = Double(Swift.max(sums.count, 1))
        let meanSquare = (leftSum + rightSum) / n
        guard meanSquare > 0 else {
            return AGGDFit(alpha: grid[0], eta: 0, leftSigmaSquared: 0, rightSigmaSquared: 0, rHatNormalised: .nan)
        }
        let sigmaL = sqrt(leftSq), sigmaR = sqrt(rightSq)
        let meanAbs = absSum / n
        let rHat = meanAbs * meanAbs / meanSquare
        let rHatNorm: Double
        if sigmaL > 0 && sigmaR > 0 {
            let g = sigmaL / sigmaR
            rHatNorm = rHat * (g * g * g + 1) * (g + 1) / ((g * g + 1) * (g * g + 1))
        } else {
            rHatNorm = rHat // the limit of the γ̂ factor is 1 at both γ̂ → 0 and γ̂ → ∞
        }
        let alpha: Double
        switch estimation {
        case .grid:
            var best = 0, bestDistance = Double.infinity
            aggdRatios.withUnsafeBufferPointer { r in
                for k in 0..<r.count {
                    let d = (r[k] - rHatNorm) * (r[k] - rHatNorm)
                    if d < bestDistance { bestDistance = d; best = k }
                }
            }
            alpha = grid[best]
        case .continuous:
            alpha = inverseGGDRatio(1 / rHatNorm)
        }
        // The MATLAB form, kept for its rounding.
        let eta = (sigmaR - sigmaL) * tgamma(2 / alpha) / tgamma(1 / alpha) * sqrt(tgamma(1 / alpha) / tgamma(3 / alpha))
        return AGGDFit(alpha: alpha, eta: eta, leftSigmaSquared: leftSq, rightSigmaSquared: rightSq,
                       rHatNormalised: rHatNorm)
    }

    /// `fitGGD` over an array.
    public static func fitGGD(_ x: [Double], estimation: ShapeEstimation = .grid) -> GGDFit {
        x.withUnsafeBufferPointer { fitGGD($0, estimation: estimation) }
    }

    /// `fitAGGD` over an array.
    public static func fitAGGD(_ x: [Double], estimation: ShapeEstimation = .grid) -> AGGDFit {
        x.withUnsafeBufferPointer { fitAGGD($0, estimation: estimation) }
    }
}
