import SLKDQuality

/// The edge-and-texture loss L_et of Image Reconstruction Learning (paper §II-B;
/// Docs/Method.md#l-et).
///
/// For each tap pair (SCM-mapped student decoder feature, teacher B decoder feature), the soft
/// PIQE extractor gives per channel and block the texture feature f_t = v (unbiased variance of
/// the MSCN block) and the edge feature f_e = d = w_ndc·(1 − v) + w_nc·v (sigmoid thresholds);
///
///     L_et = (1/K) Σ_k [ mean |f_e(S'_k) − f_e(B_k)| + mean |f_t(S'_k) − f_t(B_k)| ].
///
/// Blocks are 16×16, or 8×8 on maps smaller than 32 on a side; maps are replicate-padded to a
/// block multiple. With ``scaling`` = ``FeatureScaling/teacherSpread`` [ours] each mean divides
/// every dimension's difference by the teacher's spread of it over the batch
/// (Docs/Method.md#feature-scaling). All B×C channels of a tap run at once. The teacher side carries no gradient.
public struct ImageReconstructionLoss: TapPairLoss {
    public static let symbol = "L_et"

    /// Which block quantity is the edge feature.
    public enum EdgeFeature: String, Codable, Sendable, Hashable {
        /// w_ndc·(1 − v) + w_nc·v, as Docs/Method.md#l-et writes d (default).
        case distortion
        /// w_act·(w_ndc·(1 − v) + w_nc·v): PIQE's d gated by block activity.
        case gatedDistortion
    }

    /// The extractor settings (Docs/Method.md#l-et: c = 1/255, τ = 0.01, τ_m = 0.002, ε = 1e-12); its block size
    /// is chosen per map.
    public var extractor: DifferentiablePIQE
    public var blockSize: Int
    /// Block size on maps smaller than ``smallMapSide`` on a side.
    public var smallMapBlockSize: Int
    public var smallMapSide: Int
    public var edgeFeature: EdgeFeature
    /// How the feature differences are weighed (Docs/Method.md#feature-scaling; default: the SPEC form).
    public var scaling: FeatureScaling

    public init(c: Double = 1.0 / 255, tau: Double = 0.01, tauMin: Double = 0.002, epsilon: Double = 1e-12,
                blockSize: Int = 16, smallMapBlockSize: Int = 8, smallMapSide: Int = 32,
                edgeFeature: EdgeFeature = .distortion, scaling: FeatureScaling = .none) {
        self.scaling = scaling
        extractor = DifferentiablePIQE(tau: tau, tauMin: tauMin, epsilon: epsilon, c: c)
        self.blockSize = blockSize
        self.smallMapBlockSize = smallMapBlockSize
        self.smallMapSide = smallMapSide
        self.edgeFeature = edgeFeature
    }

    /// The block side used for an H×W map.
    public func blockSide(height h: Int, width w: Int) -> Int {
        Swift.min(h, w) < smallMapSide ? smallMapBlockSize : blockSize
    }

    /// (f_e, f_t) of a B×C×H×W map, each B×C×blocks.
    public func features(_ x: Tensor) -> (edge: Tensor, texture: Tensor) {
        var e = extractor
        e.blockSize = blockSide(height: x.shape[2], width: x.shape[3])
        let f = e.blockFeatures(x)
        let v = f.variance
        let edge = switch edgeFeature {
        case .distortion: f.noticeableDistortion * (1 - v) + f.noise * v
        case .gatedDistortion: f.distortion
        }
        return (edge, v)
    }

    /// The loss of one tap pair (both B×C×H×W, the student already mapped by the SCM).
    public func tapLoss(student: Tensor, teacher: Tensor) -> Tensor {
        precondition(student.shape == teacher.shape,
                     "L_et: mapped student tap \(student.shape) and teacher tap \(teacher.shape) differ")
        let fs = features(student)
        let ft = withoutGradients { features(teacher.detached()) }
        return scaling.meanAbsoluteDifference(student: fs.edge, teacher: ft.edge)
            + scaling.meanAbsoluteDifference(student: fs.texture, teacher: ft.texture)
    }
}
