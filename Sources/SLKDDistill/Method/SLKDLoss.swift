/// The forward results one distillation step combines. Teacher entries are nil when the
/// configuration does not need them.
public struct DistillationForward {
    /// The student's restoration of the degraded batch and its taps (encoder, decoder; empty when
    /// not needed).
    public var student: Tensor
    public var studentEncoder: [Tensor]
    public var studentDecoder: [Tensor]
    /// Teacher A on the degraded batch.
    public var teacherA: Tensor?
    public var teacherAEncoder: [Tensor]
    public var teacherADecoder: [Tensor]
    /// Teacher B on the clean (or, ablated, degraded) batch.
    public var teacherB: Tensor?
    public var teacherBDecoder: [Tensor]
    /// The clean batch.
    public var groundTruth: Tensor

    public init(student: Tensor, studentEncoder: [Tensor] = [], studentDecoder: [Tensor] = [],
                teacherA: Tensor? = nil, teacherAEncoder: [Tensor] = [], teacherADecoder: [Tensor] = [],
                teacherB: Tensor? = nil, teacherBDecoder: [Tensor] = [], groundTruth: Tensor) {
        self.student = student
        self.studentEncoder = studentEncoder
        self.studentDecoder = studentDecoder
        self.teacherA = teacherA
        self.teacherAEncoder = teacherAEncoder
        self.teacherADecoder = teacherADecoder
        self.teacherB = teacherB
        self.teacherBDecoder = teacherBDecoder
        self.groundTruth = groundTruth
    }
}

/// The total SLKD loss and its baselines (Docs/Method.md#total-loss-and-training [ours]):
///
///     L = w·L1(S(x), B(y)) + λ1·L_kl(S(x), A(x)) + λ_nc·L_nc + λ_et·L_et
///
/// with w = 1, λ1 = 0.5, λ_nc = λ_et = λ2 = 0.1, the L1 target teacher B's output (or the ground
/// truth), and the baselines of ``DistillationConfiguration/Method-swift.enum``. The SCM maps the
/// student's encoder taps through its slots 0..<K_e and its decoder taps through slots from
/// ``ScaleConversionModule/decoderTapOffset`` on.
public struct SLKDLoss: Sendable {
    public let configuration: DistillationConfiguration
    public let degradationRemoval: DegradationRemovalLoss
    public let imageReconstruction: ImageReconstructionLoss
    public let kl: ChannelKLDivergence

    public init(_ configuration: DistillationConfiguration = .slkd) {
        self.configuration = configuration
        degradationRemoval = configuration.degradationRemovalLoss
        imageReconstruction = configuration.imageReconstructionLoss
        kl = ChannelKLDivergence(temperature: configuration.klTemperature)
    }

    /// The weighted total and each term's unweighted value (`pixel`, `kl`, `nc`, `et`, `fit`).
    public func callAsFunction(_ f: DistillationForward, scm: ScaleConversionModule?) -> (total: Tensor, terms: [String: Tensor]) {
        let c = configuration
        var terms: [String: Tensor] = [:]
        var total: Tensor?
        func add(_ name: String, _ weight: Double, _ value: Tensor) {
            terms[name] = value
            let weighted = value * weight
            total = total.map { $0 + weighted } ?? weighted
        }
        func need<T>(_ value: T?, _ what: String) -> T {
            guard let value else { preconditionFailure("SLKD loss (\(c.method)): \(what) was not computed") }
            return value
        }

        switch c.method {
        case .studentAlone, .dfkd, .dckd:  // DFKD and DCKD train through their own objectives
            add("pixel", c.pixelWeight, c.pixelLoss(f.student, f.groundTruth))
        case .outputKD:
            add("pixel", c.pixelWeight, c.pixelLoss(f.student, need(f.teacherA, "teacher A's output").detached()))
        case .fitNets:
            add("pixel", c.pixelWeight, c.pixelLoss(f.student, f.groundTruth))
            let map = need(scm, "the SCM")
            let s = f.studentEncoder + f.studentDecoder, t = f.teacherAEncoder + f.teacherADecoder
            precondition(s.count == t.count && !s.isEmpty, "FitNets: \(s.count) student taps but \(t.count) teacher taps")
            let mapped = map(student: s, teacher: t)
            var fit = (mapped.student[0] - mapped.teacher[0]).squared().mean()
            for k in 1..<s.count { fit = fit + (mapped.student[k] - mapped.teacher[k]).squared().mean() }
            add("fit", c.fitNetsWeight, fit / Double(s.count))
        case .slkd:
            if c.pixelWeight != 0 {
                let target = c.pixelTarget == .groundTruth ? f.groundTruth : need(f.teacherB, "teacher B's output").detached()
                add("pixel", c.pixelWeight, c.pixelLoss(f.student, target))
            }
            if c.computesKL {
                add("kl", c.klWeight, kl(student: f.student, teacher: need(f.teacherA, "teacher A's output")))
            }
            if c.computesNC {
                let mapped = need(scm, "the SCM")(student: f.studentEncoder, teacher: f.teacherAEncoder)
                add("nc", c.degradationRemovalWeight, degradationRemoval(student: mapped.student, teacher: mapped.teacher))
            }
            if c.computesET {
                let mapped = need(scm, "the SCM")(student: f.studentDecoder, teacher: f.teacherBDecoder, offset: need(scm, "the SCM").decoderTapOffset)
                add("et", c.reconstructionWeight, imageReconstruction(student: mapped.student, teacher: mapped.teacher))
            }
        }
        return (total ?? (f.student * 0).sum(), terms)
    }
}
