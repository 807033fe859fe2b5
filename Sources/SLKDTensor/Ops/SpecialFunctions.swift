import RealModule

/// Special functions that `RealModule` does not provide: ψ (digamma) and ψ′ (trigamma),
/// needed by the GGD/AGGD statistics and by the gradient of `lgamma`.
public enum SpecialFunctions {
    /// ψ(x) = d/dx log Γ(x): recurrence up to x ≥ 10, then the asymptotic series; reflection
    /// ψ(1−x) − π/tan(πx) for x ≤ 0. −∞ at 0 and NaN at negative integers, as PyTorch.
    @inlinable
    public static func digamma<T: TensorScalar>(_ x: T) -> T {
        if x.isNaN { return x }
        if x == 0 { return -T.infinity }
        if x < 0 {
            if x == x.rounded(.down) { return T.nan }
            return digamma(1 - x) - T.pi / T.tan(T.pi * x)
        }
        var value = x
        var result: T = 0
        while value < 10 {
            result -= 1 / value
            value += 1
        }
        let inv2 = 1 / (value * value)
        // Asymptotic series Σ B₂ₖ/(2k x²ᵏ): 1/12, −1/120, 1/252, −1/240, 1/132, −691/32760, 1/12.
        let coefficients: [T] = [T(1) / 12, T(-1) / 120, T(1) / 252, T(-1) / 240, T(1) / 132, T(-691) / 32760, T(1) / 12]
        var series: T = 0
        for c in coefficients.reversed() { series = series * inv2 + c }
        series *= inv2
        return result + T.log(value) - 1 / (2 * value) - series
    }

    /// ψ′(x): recurrence up to x ≥ 10, then the asymptotic series; reflection for x ≤ 0.
    @inlinable
    public static func trigamma<T: TensorScalar>(_ x: T) -> T {
        if x.isNaN { return x }
        if x <= 0 && x == x.rounded(.down) { return T.infinity }
        if x < 0 {
            let s = T.sin(T.pi * x)
            return T.pi * T.pi / (s * s) - trigamma(1 - x)
        }
        var value = x
        var result: T = 0
        while value < 10 {
            result += 1 / (value * value)
            value += 1
        }
        let inv = 1 / value, inv2 = inv * inv
        // 1/x + 1/(2x²) + Σ B₂ₖ/x^(2k+1): 1/6, −1/30, 1/42, −1/30, 5/66, −691/2730, 7/6.
        let coefficients: [T] = [T(1) / 6, T(-1) / 30, T(1) / 42, T(-1) / 30, T(5) / 66, T(-691) / 2730, T(7) / 6]
        var series: T = 0
        for c in coefficients.reversed() { series = series * inv2 + c }
        series *= inv * inv2
        return result + inv + inv2 / 2 + series
    }
}

extension SpecialFunctions {
    /// erf(x) for the GELU kernels: in `Float`, a rational minimax approximation on x clamped to
    /// [−4, 4] (erf is ±1 to float precision beyond), with no calls, so loops over it vectorise —
    /// glibc's scalar `erff` was a quarter of a Uformer forward pass. Error within a few ulp of
    /// `erff`. `Double` uses the exact `erf`.
    @inlinable @inline(__always)
    public static func erfForActivation<T: TensorScalar>(_ x: T) -> T {
        guard T.self == Float.self else { return .erf(x) }
        let v = Swift.min(Swift.max(x, -4), 4)
        let v2 = v * v
        // Odd numerator x·P(x²) and even denominator Q(x²).
        var p: T = -2.72614225801306e-10
        p = v2 * p + 2.77068142495902e-08
        p = v2 * p + -2.10102402082508e-06
        p = v2 * p + -5.69250639462346e-05
        p = v2 * p + -7.34990630326855e-04
        p = v2 * p + -2.95459980854025e-03
        p = v2 * p + -1.60960333262415e-02
        var q: T = -1.45660718464996e-05
        q = v2 * q + -2.13374055278905e-04
        q = v2 * q + -1.68282697438203e-03
        q = v2 * q + -7.37332916720468e-03
        q = v2 * q + -1.42647390514189e-02
        return v * p / q
    }

    /// exp(y) for y ≤ 0 in the GELU derivative's density: in `Float`, Cody–Waite reduction
    /// y = k·ln2 + r, a degree-7 polynomial for eʳ and 2ᵏ built from the exponent bits, with no
    /// calls or traps so that loops over it vectorise (glibc's scalar `expf` made the GELU backward
    /// a fifth of a Ufor-SL training step). Within ~2 ulp of `expf`; y below −87 is taken as −87
    /// (eʸ < 2·10⁻³⁸ there). `Double` uses the exact `exp`.
    @inlinable @inline(__always)
    public static func expOfNonPositiveForActivation<T: TensorScalar>(_ y: T) -> T {
        guard T.self == Float.self else { return .exp(y) }
        let v = Swift.max(unsafeBitCast(y, to: Float.self), -87)
        // Round v/ln2 to the nearest integer k with the 1.5·2²³ shift; k sits in the low bits.
        let magic: Float = 12_582_912
        let shifted = v * 1.44269502 + magic
        let k = shifted - magic
        let r = (v - k * 0.693145751953125) - k * 1.42860677e-06   // ln2 split hi + lo
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let scale = Float(bitPattern: (shifted.bitPattern &- magic.bitPattern &+ 127) &<< 23)
        return unsafeBitCast(p * scale, to: T.self)
    }
}
