/// The forward results one distillation step combines, by name: what every ``DistillationTerm``
/// computes itself from. Entries no active term asked for are nil or empty.
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
    /// Which batch teacher B saw (nil: not said; terms then take B's results as they are).
    public var teacherBInput: DistillationConfiguration.TeacherBInput?
    /// The clean batch.
    public var groundTruth: Tensor
    /// The scale conversion module the feature terms map the student's taps through.
    public var scm: ScaleConversionModule?

    public init(student: Tensor, studentEncoder: [Tensor] = [], studentDecoder: [Tensor] = [],
                teacherA: Tensor? = nil, teacherAEncoder: [Tensor] = [], teacherADecoder: [Tensor] = [],
                teacherB: Tensor? = nil, teacherBDecoder: [Tensor] = [], teacherBInput: DistillationConfiguration.TeacherBInput? = nil,
                groundTruth: Tensor, scm: ScaleConversionModule? = nil) {
        self.student = student
        self.studentEncoder = studentEncoder
        self.studentDecoder = studentDecoder
        self.teacherA = teacherA
        self.teacherAEncoder = teacherAEncoder
        self.teacherADecoder = teacherADecoder
        self.teacherB = teacherB
        self.teacherBDecoder = teacherBDecoder
        self.teacherBInput = teacherBInput
        self.groundTruth = groundTruth
        self.scm = scm
    }
}

/// The total SLKD loss and its baselines (Docs/Method.md#total-loss-and-training [ours]):
///
///     L = w·L1(S(x), B(y)) + λ1·L_kl(S(x), A(x)) + λ_nc·L_nc + λ_et·L_et
///
/// with w = 1, λ1 = 0.5, λ_nc = λ_et = λ2 = 0.1, the L1 target teacher B's output (or the ground
/// truth), and the baselines of ``DistillationConfiguration/Method-swift.enum``: the sum, in order,
/// of the configuration's ``DistillationConfiguration/terms`` and any added ones, each weighted.
public struct SLKDLoss: Sendable {
    public let configuration: DistillationConfiguration
    public let degradationRemoval: DegradationRemovalLoss
    public let imageReconstruction: ImageReconstructionLoss
    public let kl: ChannelKLDivergence
    /// The terms summed: the configuration's, then the added ones.
    public let terms: [any DistillationTerm]

    /// - Parameters:
    ///   - configuration: the method, weights and switches that choose the built-in terms.
    ///   - extraTerms: terms of your own, added after the built-in ones.
    public init(_ configuration: DistillationConfiguration = .slkd, adding extraTerms: [any DistillationTerm] = []) {
        self.configuration = configuration
        degradationRemoval = configuration.degradationRemovalLoss
        imageReconstruction = configuration.imageReconstructionLoss
        kl = ChannelKLDivergence(temperature: configuration.klTemperature)
        terms = configuration.terms + extraTerms
    }

    /// The union of what the terms read: the teacher passes and taps and the SCM a step needs.
    public var requirements: Set<DistillationRequirement> { DistillationRequirement.union(of: terms) }

    /// The weighted total and each term's unweighted value, keyed by term name (`pixel`, `kl`,
    /// `nc`, `et`, `fit`, yours).
    ///
    /// - Throws: ``DistillationInputError`` when `forward` lacks what a term reads.
    public func evaluate(_ f: DistillationForward) throws(DistillationInputError) -> (total: Tensor, terms: [String: Tensor]) {
        var values: [String: Tensor] = [:]
        var total: Tensor?
        for term in terms {
            let value = try term.value(f)
            values[term.name] = value
            let weighted = value * term.weight
            total = total.map { $0 + weighted } ?? weighted
        }
        return (total ?? (f.student * 0).sum(), values)
    }

    /// ``evaluate(_:)`` with `scm` as the forward's SCM. A missing input is a programming error
    /// here (``DistillationObjective`` checks its terms against its networks when it is built).
    public func callAsFunction(_ f: DistillationForward, scm: ScaleConversionModule?) -> (total: Tensor, terms: [String: Tensor]) {
        var f = f
        f.scm = scm
        do { return try evaluate(f) } catch { fatalError("SLKD loss (\(configuration.method)): \(error)") }
    }
}
