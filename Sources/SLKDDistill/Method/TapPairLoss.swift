import SLKDTensor

/// A feature loss defined on one tap pair and averaged over the K matched taps — the form both
/// SLKD feature losses take (Docs/Method.md#l-nc: L = (1/K) Σ_k loss(SCM(S_k), T_k)).
///
/// ``DegradationRemovalLoss`` (L_nc) and ``ImageReconstructionLoss`` (L_et) conform; a custom
/// feature loss gets the averaging over taps by implementing ``tapLoss(student:teacher:)``.
public protocol TapPairLoss: Sendable {
    /// The loss's symbol in messages, e.g. `L_nc`.
    static var symbol: String { get }

    /// The loss of one tap pair (both B×C×H×W, the student already mapped by the SCM).
    func tapLoss(student: Tensor, teacher: Tensor) -> Tensor
}

extension TapPairLoss {
    /// The loss averaged over K tap pairs, matched by position.
    public func callAsFunction(student: [Tensor], teacher: [Tensor]) -> Tensor {
        precondition(!student.isEmpty && student.count == teacher.count,
                     "\(Self.symbol) needs K ≥ 1 matched tap pairs, got \(student.count) and \(teacher.count)")
        var total = tapLoss(student: student[0], teacher: teacher[0])
        for k in 1..<student.count { total = total + tapLoss(student: student[k], teacher: teacher[k]) }
        return total / Double(student.count)
    }
}
