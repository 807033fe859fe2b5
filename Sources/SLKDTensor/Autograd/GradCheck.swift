/// The outcome of a numerical gradient check.
public struct GradCheckReport: Sendable, CustomStringConvertible {
    /// Whether every element was within tolerance.
    public var passed: Bool
    /// The input index, element index, analytic and numeric values of the worst element —
    /// the one with the largest |analytic − numeric| − (atol + rtol·|numeric|).
    public var worstInput: Int
    public var worstElement: Int
    public var analytic: Double
    public var numeric: Double
    /// The largest absolute difference seen.
    public var maxAbsoluteError: Double

    public var description: String {
        "gradcheck \(passed ? "passed" : "FAILED"): worst input \(worstInput)[\(worstElement)] analytic \(analytic) numeric \(numeric) (max |Δ| \(maxAbsoluteError))"
    }
}

/// Compares the gradients autograd computes for `function` with central finite differences,
/// as PyTorch's `gradcheck` does: for every input element, perturb by ±`eps` and compare
/// (f(x+ε) − f(x−ε)) / 2ε, contracted with a fixed random output weighting, to the analytic
/// vector–Jacobian product. Inputs must be `float64`.
///
/// An element passes when |analytic − numeric| ≤ `atol` + `rtol`·|numeric|.
///
/// ```swift
/// let report = gradCheck([x, y]) { t in (t[0] * t[1]).exp() }
/// #expect(report.passed, "\(report)")
/// ```
public func gradCheck(_ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
                      seed: UInt64 = 0, _ function: ([Tensor]) -> Tensor) -> GradCheckReport {
    precondition(inputs.allSatisfy { $0.dtype == .float64 }, "gradCheck needs float64 inputs")
    let leaves = inputs.map { $0.detached().contiguous().requiringGrad() }
    let output = function(leaves)
    var generator = RandomGenerator(seed: seed)
    // A random weighting of the outputs checks the whole Jacobian, not only its column sums.
    let weights = Tensor.uniform(output.shape, low: 0.5, high: 1.5, dtype: .float64, using: &generator)
    let analytic = (output * weights).sum().gradients(wrt: leaves)
    let w = weights.doubles

    var report = GradCheckReport(passed: true, worstInput: -1, worstElement: -1, analytic: 0, numeric: 0,
                                 maxAbsoluteError: 0)
    var worstExcess = -Double.infinity
    for (k, input) in inputs.enumerated() {
        var values = input.doubles
        let gradient = analytic[k].doubles
        for i in 0..<values.count {
            let original = values[i]
            func evaluate(_ v: Double) -> Double {
                values[i] = v
                var perturbed = inputs.map { $0.detached() }
                perturbed[k] = Tensor(shape: input.shape, scalars: values)
                let y = withoutGradients { function(perturbed) }.doubles
                var total = 0.0
                for j in 0..<y.count { total += y[j] * w[j] }
                return total
            }
            let numeric = (evaluate(original + eps) - evaluate(original - eps)) / (2 * eps)
            values[i] = original
            let difference = Swift.abs(gradient[i] - numeric)
            let excess = difference - (atol + rtol * Swift.abs(numeric))
            report.maxAbsoluteError = Swift.max(report.maxAbsoluteError, difference)
            if excess > worstExcess || !difference.isFinite {
                worstExcess = difference.isFinite ? excess : .infinity
                report.worstInput = k
                report.worstElement = i
                report.analytic = gradient[i]
                report.numeric = numeric
            }
            if !(excess <= 0) { report.passed = false }
        }
    }
    return report
}
