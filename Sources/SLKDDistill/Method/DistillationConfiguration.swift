/// Every choice of the SLKD loss and of the baselines trained through the same machinery
/// (Docs/Method.md#total-loss-and-training, #ablations-and-baselines). Defaults are those of
/// Docs/Method.md; each [ours] choice there is a field here.
public struct DistillationConfiguration: Codable, Sendable, Hashable {
    /// What is trained against what.
    public enum Method: String, Codable, Sendable, Hashable {
        /// L = w·L1 + λ1·L_kl + λ_nc·L_nc + λ_et·L_et (SLKD).
        case slkd
        /// The student alone: L = w·L1(S(x), ground truth).
        case studentAlone
        /// Output-only distillation: L = w·L1(S(x), A(x)).
        case outputKD
        /// FitNets-style feature distillation: L = w·L1(S(x), ground truth) + λ_fit·(1/K')Σ_k
        /// mean (SCM(S_k) − A_k)² over all encoder and decoder taps (teacher A on the degraded input).
        case fitNets
        /// DFKD (Zhang et al., CVPR 2021) adapted to restoration: a generator synthesises clean
        /// images, a random noise operator degrades them, the student matches the teacher on them
        /// and the generator is trained against the student (Docs/Method.md#dfkd).
        case dfkd
        /// DCKD (Fang et al., JVCIR 2023) adapted: student features through the SCM into the
        /// teacher's later stages and teacher features into the student's (Docs/Method.md#dckd).
        case dckd
    }

    /// How the SCM's student projections start.
    public enum SCMInitialisation: String, Codable, Sendable, Hashable {
        /// PyTorch's default (Kaiming-uniform) initialisation of the 1×1 convolutions.
        case random
        /// Fitted by least squares to the teachers' features on the first batch of a run
        /// (``ScaleConversionModule/initialiseByLeastSquares(student:teacher:offset:)``).
        case leastSquares
    }

    /// What teacher B sees (Table IV row 1: degraded; row 2: clean).
    public enum TeacherBInput: String, Codable, Sendable, Hashable { case clean, degraded }

    /// The target of SLKD's pixel term.
    public enum PixelTarget: String, Codable, Sendable, Hashable { case teacherB, groundTruth }

    public var method: Method = .slkd

    // Weights: L = pixelWeight·L1 + klWeight·L_kl + degradationRemovalWeight·L_nc
    //            + reconstructionWeight·L_et (Docs/Method.md: 1, λ1 = 0.5, λ2 = 0.1, λ2 = 0.1).
    public var pixelWeight = 1.0
    public var klWeight = 0.5
    public var degradationRemovalWeight = 0.1
    public var reconstructionWeight = 0.1
    /// λ_fit of the FitNets baseline [ours: λ2, the weight SLKD gives its feature terms].
    public var fitNetsWeight = 0.1

    // Ablation switches.
    public var teacherBInput: TeacherBInput = .clean
    public var useDegradationRemoval = true
    public var useImageReconstruction = true
    public var pixelTarget: PixelTarget = .teacherB
    public var pixelLoss: PixelLossKind = .l1

    /// KL softmax temperature τ.
    public var klTemperature = 1.0

    // The SCM.
    public var scmMode: ScaleConversionModule.Mode = .teacherSpace
    /// How the SCM starts (options key `distill.scm_init: random | least_squares`); nil means
    /// ``SCMInitialisation-swift.enum/random``, the default. Optional so that configurations
    /// saved before the key existed still decode.
    public var scmInitialisation: SCMInitialisation? = nil

    // The extractors (Docs/Method.md#l-nc, #l-et: c = 1/255, ε = 1e-12; BRISQUE two scales, second scale only from
    // 7×7; PIQE τ 0.01, τ_m 0.002, 16×16 blocks, 8×8 below 32 pixels a side).
    public var mscnConstant = 1.0 / 255
    public var epsilon = 1e-12
    /// δ in BRISQUE's moment ratios, for dead (all-zero) feature channels [ours].
    public var brisqueRatioEpsilon = 1e-12
    public var brisqueScales = 2
    public var brisqueMinimumSecondScaleSide = 7
    public var piqeTau = 0.01
    public var piqeTauMin = 0.002
    public var piqeBlockSize = 16
    public var piqeSmallMapBlockSize = 8
    public var piqeSmallMapSide = 32
    public var edgeFeature: ImageReconstructionLoss.EdgeFeature = .distortion
    /// How L_nc and L_et weigh their feature dimensions (options key `distill.feature_scaling:
    /// none | teacher_spread`, Docs/Method.md#feature-scaling); nil means ``FeatureScaling/none``,
    /// the SPEC form. Optional so that configurations saved before the key existed still decode.
    public var featureScaling: FeatureScaling? = nil

    /// DFKD's settings (options keys `distill.dfkd_*`); nil means the defaults. Optional so that
    /// configurations saved before DFKD existed still decode.
    public var dfkd: DFKDSettings? = nil
    /// DCKD's settings (options keys `distill.dckd_*`); nil means the defaults.
    public var dckd: DCKDSettings? = nil

    public init() {}

    /// SLKD with the defaults of Docs/Method.md.
    public static var slkd: Self { Self() }

    /// A baseline (or `.slkd`) with the defaults.
    public static func method(_ method: Method) -> Self {
        var c = Self()
        c.method = method
        return c
    }

    /// The L_nc this configuration computes.
    public var degradationRemovalLoss: DegradationRemovalLoss {
        DegradationRemovalLoss(c: mscnConstant, epsilon: epsilon, ratioEpsilon: brisqueRatioEpsilon, scales: brisqueScales,
                               minimumSecondScaleSide: brisqueMinimumSecondScaleSide, scaling: featureScaling ?? .none)
    }

    /// The L_et this configuration computes.
    public var imageReconstructionLoss: ImageReconstructionLoss {
        ImageReconstructionLoss(c: mscnConstant, tau: piqeTau, tauMin: piqeTauMin, epsilon: epsilon,
                                blockSize: piqeBlockSize, smallMapBlockSize: piqeSmallMapBlockSize,
                                smallMapSide: piqeSmallMapSide, edgeFeature: edgeFeature, scaling: featureScaling ?? .none)
    }

    // MARK: The terms

    /// The loss terms this configuration sums, in order (Docs/Method.md#total-loss-and-training,
    /// #ablations-and-baselines). SLKD leaves out a term whose weight is 0 or whose switch is off.
    public var terms: [any DistillationTerm] {
        switch method {
        case .studentAlone:
            return [PixelTerm(weight: pixelWeight, loss: pixelLoss, target: .groundTruth)]
        case .outputKD:
            return [PixelTerm(weight: pixelWeight, loss: pixelLoss, target: .teacherA)]
        case .dfkd, .dckd:
            // Trained through DFKDObjective and DCKDObjective (Docs/Method.md#dfkd, #dckd); as terms, the pixel term alone.
            return [PixelTerm(weight: pixelWeight, loss: pixelLoss, target: .groundTruth)]
        case .fitNets:
            return [PixelTerm(weight: pixelWeight, loss: pixelLoss, target: .groundTruth), FitNetsTerm(weight: fitNetsWeight)]
        case .slkd:
            var terms: [any DistillationTerm] = []
            if pixelWeight != 0 {
                terms.append(PixelTerm(weight: pixelWeight, loss: pixelLoss,
                                       target: pixelTarget == .groundTruth ? .groundTruth : .teacherB(on: teacherBInput)))
            }
            if computesKL { terms.append(KLTerm(weight: klWeight, divergence: ChannelKLDivergence(temperature: klTemperature))) }
            if computesNC { terms.append(DegradationRemovalTerm(weight: degradationRemovalWeight, loss: degradationRemovalLoss)) }
            if computesET {
                terms.append(ImageReconstructionTerm(weight: reconstructionWeight, loss: imageReconstructionLoss, teacherBInput: teacherBInput))
            }
            return terms
        }
    }

    var computesNC: Bool { method == .slkd && useDegradationRemoval && degradationRemovalWeight != 0 }
    var computesET: Bool { method == .slkd && useImageReconstruction && reconstructionWeight != 0 }
    var computesKL: Bool { method == .slkd && klWeight != 0 }
    /// Whether the objective builds and trains an SCM (also when a feature term's weight is 0, so
    /// that such runs keep the SCM's parameters and random draws).
    var usesSCM: Bool { (method == .slkd && (useDegradationRemoval || useImageReconstruction)) || method == .fitNets }
}
