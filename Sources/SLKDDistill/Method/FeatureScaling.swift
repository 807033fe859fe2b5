import SLKDTensor

/// How L_nc and L_et weigh the dimensions of the feature vectors they compare
/// (Docs/Method.md#feature-scaling; options key `distill.feature_scaling`).
///
/// The SPEC form (``none``) averages raw differences, so a statistic with a wide range (a GGD
/// shape α, a few units) outweighs one with a narrow range (an MSCN variance, hundredths).
/// ``teacherSpread`` [ours] puts every statistic on the scale of the teacher's own variation.
public enum FeatureScaling: String, Codable, Sendable, Hashable, CaseIterable {
    /// mean |f(S') − f(T)| over all dimensions, as Docs/Method.md#l-nc and #l-et write it.
    case none
    /// mean |f(S') − f(T)| / (σ_T + ε): each dimension's difference divided by the teacher's
    /// standard deviation of that dimension over the batch (population, detached), ε = ``epsilon``.
    /// With a batch of one there is no spread over the batch; the spread over the tap's channels
    /// (same statistic, scale or block) stands in, and with one channel too, 1 (no scaling).
    case teacherSpread

    /// ε added to the teacher's spread, so that a statistic the teacher holds constant over the
    /// batch weighs at most 1/ε instead of dividing by zero. 1e-3 is about a tenth of the smallest
    /// spreads the demo's taps show (MSCN variances of a few hundredths vary by ~1e-2 over a batch).
    public static let epsilon = 1e-3

    /// The mean absolute difference of student features `s` and teacher features `t` (same shape,
    /// batch first, channels second), scaled as this case says. `t` carries no gradient.
    public func meanAbsoluteDifference(student s: Tensor, teacher t: Tensor) -> Tensor {
        let difference = (s - t).abs()
        switch self {
        case .none:
            return difference.mean()
        case .teacherSpread:
            guard let scale = Self.teacherScale(t) else { return difference.mean() }
            return (difference / scale).mean()
        }
    }

    /// σ + ε over the batch axis (or, for a batch of one, the channel axis), broadcastable to `t`;
    /// nil when neither axis has two entries.
    static func teacherScale(_ t: Tensor) -> Tensor? {
        let axis = t.shape[0] >= 2 ? 0 : (t.rank >= 2 && t.shape[1] >= 2 ? 1 : nil)
        guard let axis else { return nil }
        return withoutGradients {
            t.detached().variance(axes: [axis], unbiased: false, keepDims: true).sqrt() + epsilon
        }
    }
}
