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
    /// mean_j |f_j(S') − f_j(T)| / s_j with s_j = (σ_j + σ̄) / 2 + ε: σ_j is the teacher's standard
    /// deviation of dimension j over the batch (population, detached), σ̄ its mean over all
    /// dimensions of the feature group, ε = ``epsilon``. Shrinking σ_j towards σ̄ steadies a spread
    /// estimated from a few samples; ε bounds the weight of statistics the teacher holds constant
    /// over the whole batch (saturated PIQE blocks, dead channels) at 1/ε.
    /// With a batch of one there is no spread over the batch; the spread over the tap's channels
    /// (same statistic, scale or block) stands in; one sample of one channel is left unscaled.
    case teacherSpread

    /// ε of ``teacherSpread``. The statistics are dimensionless (computed from MSCN coefficients,
    /// which are normalised by the local spread), so an absolute ε is meaningful: no weight
    /// exceeds 1/ε = 100.
    public static let epsilon = 0.01

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

    /// s = (σ + σ̄) / 2 + ε over the batch axis (or, for a batch of one, the channel axis),
    /// broadcastable to `t`; nil for one sample of one channel.
    static func teacherScale(_ t: Tensor) -> Tensor? {
        let axis = t.shape[0] >= 2 ? 0 : (t.rank >= 2 && t.shape[1] >= 2 ? 1 : nil)
        guard let axis else { return nil }
        return withoutGradients {
            let spread = t.detached().variance(axes: [axis], unbiased: false, keepDims: true).sqrt()
            return (spread + spread.mean()) * 0.5 + epsilon
        }
    }
}
