import SLKDQuality

/// The natural-and-colour loss L_nc of Degradation Removal Learning (paper §II-A;
/// Docs/Method.md#l-nc).
///
/// For each tap pair (SCM-mapped student encoder feature, teacher A encoder feature), the
/// differentiable BRISQUE extractor gives per channel and scale the GGD pair f_n = (α, σ²) of the
/// MSCN map and the AGGD quadruples f_c = (α, η, σ_l², σ_r²) of its four neighbour products;
///
///     L_nc = (1/K) Σ_k [ mean |f_n(S'_k) − f_n(A_k)| + mean |f_c(S'_k) − f_c(A_k)| ].
///
/// Exactly flat channels (dead ReLU features) are kept finite by a δ = 1e-12 in the moment
/// ratios (`DifferentiableBRISQUE.ratioEpsilon`) [ours].
///
/// With ``scaling`` = ``FeatureScaling/teacherSpread`` [ours] each mean divides every dimension's
/// difference by the teacher's spread of it over the batch (Docs/Method.md#feature-scaling).
///
/// The extractor runs on all B×C channels of a tap at once. A tap whose second scale would be
/// smaller than ``minimumSecondScaleSide`` on a side uses the first scale only. The teacher side
/// carries no gradient.
public struct DegradationRemovalLoss: TapPairLoss {
    public static let symbol = "L_nc"

    /// The extractor (Docs/Method.md#l-nc: c = 1/255, ε = 1e-12, two scales).
    public var extractor: DifferentiableBRISQUE
    /// Second-scale maps smaller than this on a side drop the second scale (Docs/Method.md#l-nc: 7, the window).
    public var minimumSecondScaleSide: Int
    /// How the feature differences are weighed (Docs/Method.md#feature-scaling; default: the SPEC form).
    public var scaling: FeatureScaling

    /// - Parameters:
    ///   - c: the MSCN constant (Docs/Method.md#l-nc: 1/255, for features in [0, 1]).
    ///   - epsilon: ε under the square roots, which keeps their gradients finite at 0.
    ///   - ratioEpsilon: δ in the GGD/AGGD moment ratios [ours], so that dead (all-zero)
    ///     feature channels, common after ReLU, give finite features and gradients.
    ///   - scales: the BRISQUE scales (Docs/Method.md#l-nc: 2).
    ///   - minimumSecondScaleSide: second-scale maps smaller than this on a side drop the second
    ///     scale.
    ///   - scaling: how the feature differences are weighed (default: the SPEC form, unscaled).
    public init(c: Double = 1.0 / 255, epsilon: Double = 1e-12, ratioEpsilon: Double = 1e-12, scales: Int = 2,
                minimumSecondScaleSide: Int = 7, scaling: FeatureScaling = .none) {
        extractor = DifferentiableBRISQUE(scales: scales, c: c, epsilon: epsilon, ratioEpsilon: ratioEpsilon)
        self.minimumSecondScaleSide = minimumSecondScaleSide
        self.scaling = scaling
    }

    /// The scales used for an H×W map.
    public func scales(height h: Int, width w: Int) -> Int {
        // Each scale halves (rounding up, as MATLAB's imresize); stop before a too-small one.
        var (hh, ww) = (h, w)
        for s in 1..<Swift.max(extractor.scales, 1) {
            hh = (hh + 1) / 2
            ww = (ww + 1) / 2
            if hh < minimumSecondScaleSide || ww < minimumSecondScaleSide { return s }
        }
        return extractor.scales
    }

    /// (f_n, f_c) of a B×C×H×W map: B×C×S×2 and B×C×S×16.
    public func features(_ x: Tensor, scales: Int) -> (natural: Tensor, colour: Tensor) {
        var e = extractor
        e.scales = scales
        let f = e.features(x)
        return (f.natural, f.colour)
    }

    /// The loss of one tap pair (both B×C×H×W, the student already mapped by the SCM).
    public func tapLoss(student: Tensor, teacher: Tensor) -> Tensor {
        precondition(student.shape == teacher.shape,
                     "L_nc: mapped student tap \(student.shape) and teacher tap \(teacher.shape) differ")
        let s = scales(height: teacher.shape[2], width: teacher.shape[3])
        let fs = features(student, scales: s)
        let ft = withoutGradients { features(teacher.detached(), scales: s) }
        return scaling.meanAbsoluteDifference(student: fs.natural, teacher: ft.natural)
            + scaling.meanAbsoluteDifference(student: fs.colour, teacher: ft.colour)
    }
}
