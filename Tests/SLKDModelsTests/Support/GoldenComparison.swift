import Foundation
import Testing
import SLKDTensor

/// Comparisons of this float32 port with the official code's float32 golden tensors
/// (models/golden/README.md of the reference folder).
enum GoldenComparison {
    /// Outputs and features: `max|a − b| ≤ 1e-4 · max(1, max|b|)`, the README's check (values are
    /// O(1), so a per-tensor scale is the meaningful one).
    static func expectValues(_ a: Tensor, _ b: Tensor, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.shape == b.shape, "shape of \(name): \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
        guard a.shape == b.shape else { return }
        let x = a.doubles, y = b.doubles
        var worst = 0.0, scale = 0.0
        for i in y.indices {
            worst = max(worst, abs(x[i] - y[i]))
            scale = max(scale, abs(y[i]))
        }
        #expect(worst <= 1e-4 * max(1, scale), "\(name): max|a−b| = \(worst), max|b| = \(scale)", sourceLocation: sourceLocation)
    }

    /// Relative tolerance of every gradient element.
    static let gradientRelativeTolerance = 1e-3
    /// The absolute floor, as a fraction of the tensor's largest reference entry: entries smaller
    /// than this are sums whose terms cancelled, where float32 rounding of either side is of the
    /// floor's size.
    static let gradientFloor = 1e-5

    /// Gradients, element by element: `|a − b| ≤ rtol·|b| + floor·max|b|`, so that small entries
    /// are checked too (a per-tensor scale alone would let them be anything below it). `mask`
    /// leaves out elements the reference itself cannot pin down (an L1 subgradient at 0).
    static func expectGradient(_ a: Tensor, _ b: Tensor, _ name: String, mask: [Bool]? = nil,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.shape == b.shape, "shape of \(name): \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
        guard a.shape == b.shape else { return }
        let x = a.doubles, y = b.doubles
        let scale = y.indices.reduce(0.0) { mask?[$1] ?? true ? max($0, abs(y[$1])) : $0 }
        let floor = gradientFloor * scale
        var failures = 0, worstIndex = -1, worstExcess = 0.0
        for i in y.indices where mask?[i] ?? true {
            let excess = abs(x[i] - y[i]) / (gradientRelativeTolerance * abs(y[i]) + floor)
            if !(excess <= 1) { failures += 1 }
            if !(excess <= worstExcess) { worstExcess = excess; worstIndex = i }
        }
        if ProcessInfo.processInfo.environment["SLKD_VERBOSE"] == "1" {
            print("\(name): worst element at \(worstExcess) of its tolerance")
        }
        #expect(failures == 0, "\(name): \(failures) of \(y.count) elements outside rtol \(gradientRelativeTolerance) + \(gradientFloor)·max|b|; worst [\(worstIndex)] \(worstIndex >= 0 ? "\(x[worstIndex]) vs \(y[worstIndex])" : "")",
                sourceLocation: sourceLocation)
    }
}
