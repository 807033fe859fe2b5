import SLKDModels

/// One forward result a ``DistillationTerm`` reads: which network, which input, which part of its
/// output. The student's restoration of the degraded batch is always there and is not listed.
public enum DistillationRequirement: Hashable, Sendable, CustomStringConvertible {
    /// The clean batch.
    case groundTruth
    /// The student's encoder (DRL) or decoder (IRL) taps, on the degraded batch.
    case studentEncoderTaps, studentDecoderTaps
    /// Teacher A on the degraded batch: its restoration, encoder taps, decoder taps.
    case teacherAOutput, teacherAEncoderTaps, teacherADecoderTaps
    /// Teacher B on the clean or degraded batch: its restoration, decoder taps.
    case teacherBOutput(on: DistillationConfiguration.TeacherBInput)
    case teacherBDecoderTaps(on: DistillationConfiguration.TeacherBInput)
    /// The scale conversion module, trained with the student.
    case scm

    /// Whether a teacher forward provides it.
    public var isTeacherInput: Bool {
        switch self {
        case .teacherAOutput, .teacherAEncoderTaps, .teacherADecoderTaps, .teacherBOutput, .teacherBDecoderTaps: true
        case .groundTruth, .studentEncoderTaps, .studentDecoderTaps, .scm: false
        }
    }

    public var description: String {
        switch self {
        case .groundTruth: "the ground truth"
        case .studentEncoderTaps: "the student's encoder taps"
        case .studentDecoderTaps: "the student's decoder taps"
        case .teacherAOutput: "teacher A's output"
        case .teacherAEncoderTaps: "teacher A's encoder taps"
        case .teacherADecoderTaps: "teacher A's decoder taps"
        case .teacherBOutput(let input): "teacher B's output on the \(input.rawValue) batch"
        case .teacherBDecoderTaps(let input): "teacher B's decoder taps on the \(input.rawValue) batch"
        case .scm: "the scale conversion module"
        }
    }
}

/// A forward result a term asked for is not in the ``DistillationForward`` it was handed.
public struct DistillationInputError: Error, Equatable, CustomStringConvertible {
    /// The term's name (`pixel`, `kl`, …).
    public var term: String
    public var missing: DistillationRequirement

    public init(term: String, missing: DistillationRequirement) {
        self.term = term
        self.missing = missing
    }

    public var description: String { "loss term '\(term)' needs \(missing), which was not computed" }
}

/// What cannot be computed for a set of terms with the networks at hand, found when the objective
/// is built (so that no step traps on a missing input).
public struct DistillationSetupError: Error, Equatable, CustomStringConvertible {
    /// The term that cannot be computed.
    public var term: String
    /// What it needs.
    public var requirement: DistillationRequirement
    /// Why that is not available, in a few words.
    public var reason: String

    public init(term: String, requirement: DistillationRequirement, reason: String) {
        self.term = term
        self.requirement = requirement
        self.reason = reason
    }

    public var description: String { "loss term '\(term)' needs \(requirement), but \(reason)" }
}

/// One weighted term of a distillation loss, as a value: what it reads and how it computes
/// itself from the named forward results (Docs/Architecture.md). The objective runs the union of
/// the active terms' ``requirements`` — teacher passes and taps, the SCM — and sums
/// `weight · value` in the terms' order.
///
/// A term of your own conforms and is handed to
/// ``DistillationConfiguration/objective(student:teacherA:teacherB:adding:using:)``
/// (Examples/CustomTerm).
public protocol DistillationTerm: Sendable {
    /// The term's key in ``StepLoss/terms`` (unweighted value) and in logs.
    var name: String { get }
    /// Its weight in the total.
    var weight: Double { get }
    /// The forward results ``value(_:)`` reads.
    var requirements: Set<DistillationRequirement> { get }
    /// The unweighted value, recording the graph through the student's results.
    func value(_ inputs: DistillationForward) throws(DistillationInputError) -> Tensor
}

// MARK: The terms of SLKD and its baselines

/// The pixel term w·L(S(x), target) (Docs/Method.md#image-level-losses): L1 or Charbonnier to the
/// ground truth, teacher A's output (output-only KD) or teacher B's (SLKD's eq. 5). Teacher
/// targets carry no gradient.
public struct PixelTerm: DistillationTerm {
    public enum Target: Hashable, Sendable {
        case groundTruth, teacherA
        case teacherB(on: DistillationConfiguration.TeacherBInput)
    }

    public var name: String { "pixel" }
    public var weight: Double
    public var loss: PixelLossKind
    public var target: Target

    public init(weight: Double = 1, loss: PixelLossKind = .l1, target: Target) {
        self.weight = weight
        self.loss = loss
        self.target = target
    }

    public var requirements: Set<DistillationRequirement> {
        switch target {
        case .groundTruth: [.groundTruth]
        case .teacherA: [.teacherAOutput]
        case .teacherB(let input): [.teacherBOutput(on: input)]
        }
    }

    public func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor {
        switch target {
        case .groundTruth: loss(f.student, f.groundTruth)
        case .teacherA: loss(f.student, try f.teacherAOutput(for: name).detached())
        case .teacherB(let input): loss(f.student, try f.teacherBOutput(on: input, for: name).detached())
        }
    }
}

/// SLKD's image-level KL term λ1·L_kl(S(x), A(x)) (eq. 4; Docs/Method.md#image-level-losses).
public struct KLTerm: DistillationTerm {
    public var name: String { "kl" }
    public var weight: Double
    public var divergence: ChannelKLDivergence

    public init(weight: Double = 0.5, divergence: ChannelKLDivergence = ChannelKLDivergence()) {
        self.weight = weight
        self.divergence = divergence
    }

    public var requirements: Set<DistillationRequirement> { [.teacherAOutput] }

    public func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor {
        divergence(student: f.student, teacher: try f.teacherAOutput(for: name))
    }
}

/// Degradation Removal Learning's λ_nc·L_nc: the student's encoder taps through the SCM against
/// teacher A's (Docs/Method.md#l-nc).
public struct DegradationRemovalTerm: DistillationTerm {
    public var name: String { "nc" }
    public var weight: Double
    public var loss: DegradationRemovalLoss

    public init(weight: Double = 0.1, loss: DegradationRemovalLoss = DegradationRemovalLoss()) {
        self.weight = weight
        self.loss = loss
    }

    public var requirements: Set<DistillationRequirement> { [.studentEncoderTaps, .teacherAEncoderTaps, .scm] }

    public func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor {
        let scm = try f.requiredSCM(for: name)
        let mapped = scm(student: try f.taps(.studentEncoderTaps, for: name), teacher: try f.taps(.teacherAEncoderTaps, for: name))
        return loss(student: mapped.student, teacher: mapped.teacher)
    }
}

/// Image Reconstruction Learning's λ_et·L_et: the student's decoder taps through the SCM (slots
/// from ``ScaleConversionModule/decoderTapOffset``) against teacher B's (Docs/Method.md#l-et).
public struct ImageReconstructionTerm: DistillationTerm {
    public var name: String { "et" }
    public var weight: Double
    public var loss: ImageReconstructionLoss
    /// What teacher B sees (the paper: clean).
    public var teacherBInput: DistillationConfiguration.TeacherBInput

    public init(weight: Double = 0.1, loss: ImageReconstructionLoss = ImageReconstructionLoss(),
                teacherBInput: DistillationConfiguration.TeacherBInput = .clean) {
        self.weight = weight
        self.loss = loss
        self.teacherBInput = teacherBInput
    }

    public var requirements: Set<DistillationRequirement> {
        [.studentDecoderTaps, .teacherBDecoderTaps(on: teacherBInput), .scm]
    }

    public func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor {
        let scm = try f.requiredSCM(for: name)
        let teacher = try f.taps(.teacherBDecoderTaps(on: teacherBInput), for: name)
        let mapped = scm(student: try f.taps(.studentDecoderTaps, for: name), teacher: teacher, offset: scm.decoderTapOffset)
        return loss(student: mapped.student, teacher: mapped.teacher)
    }
}

/// The FitNets baseline's λ_fit·(1/K')Σ_k mean (SCM(S_k) − A_k)² over all encoder and decoder
/// taps, teacher A on the degraded input (Docs/Method.md#ablations-and-baselines).
public struct FitNetsTerm: DistillationTerm {
    public var name: String { "fit" }
    public var weight: Double

    public init(weight: Double = 0.1) { self.weight = weight }

    public var requirements: Set<DistillationRequirement> {
        [.studentEncoderTaps, .studentDecoderTaps, .teacherAEncoderTaps, .teacherADecoderTaps, .scm]
    }

    public func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor {
        let map = try f.requiredSCM(for: name)
        let s = try f.taps(.studentEncoderTaps, for: name) + f.taps(.studentDecoderTaps, for: name)
        let t = try f.taps(.teacherAEncoderTaps, for: name) + f.taps(.teacherADecoderTaps, for: name)
        guard s.count == t.count else { throw DistillationInputError(term: name, missing: .teacherADecoderTaps) }
        let mapped = map(student: s, teacher: t)
        var fit = (mapped.student[0] - mapped.teacher[0]).squared().mean()
        for k in 1..<s.count { fit = fit + (mapped.student[k] - mapped.teacher[k]).squared().mean() }
        return fit / Double(s.count)
    }
}

// MARK: Reading named inputs

extension DistillationForward {
    /// Teacher A's output, or the error naming `term`.
    public func teacherAOutput(for term: String) throws(DistillationInputError) -> Tensor {
        guard let teacherA else { throw DistillationInputError(term: term, missing: .teacherAOutput) }
        return teacherA
    }

    /// Teacher B's output on `input`, or the error naming `term` (also when B saw the other input).
    public func teacherBOutput(on input: DistillationConfiguration.TeacherBInput, for term: String) throws(DistillationInputError) -> Tensor {
        guard let teacherB, teacherBInput.map({ $0 == input }) ?? true else {
            throw DistillationInputError(term: term, missing: .teacherBOutput(on: input))
        }
        return teacherB
    }

    /// The taps `requirement` names (one of the tap requirements), or the error naming `term`
    /// when they were not recorded.
    public func taps(_ requirement: DistillationRequirement, for term: String) throws(DistillationInputError) -> [Tensor] {
        let taps: [Tensor]
        switch requirement {
        case .studentEncoderTaps: taps = studentEncoder
        case .studentDecoderTaps: taps = studentDecoder
        case .teacherAEncoderTaps: taps = teacherAEncoder
        case .teacherADecoderTaps: taps = teacherADecoder
        case .teacherBDecoderTaps(let input):
            taps = (teacherBInput.map { $0 == input } ?? true) ? teacherBDecoder : []
        case .groundTruth, .teacherAOutput, .teacherBOutput, .scm: taps = []
        }
        guard !taps.isEmpty else { throw DistillationInputError(term: term, missing: requirement) }
        return taps
    }

    /// The SCM, or the error naming `term`.
    public func requiredSCM(for term: String) throws(DistillationInputError) -> ScaleConversionModule {
        guard let scm else { throw DistillationInputError(term: term, missing: .scm) }
        return scm
    }
}

// MARK: Checking a term set against the networks

extension DistillationRequirement {
    /// Why this cannot be provided with these networks (nil when it can). `teacherA` nil: no
    /// teacher at all.
    func unavailability(student: any RestorationModel, teacherA: (any RestorationModel)?,
                        teacherB: (any RestorationModel)?) -> String? {
        let b = teacherB ?? teacherA
        switch self {
        case .groundTruth: return nil
        case .scm: return teacherA == nil ? "no teacher is given to pair the student's taps with" : nil
        case .studentEncoderTaps: return student.encoderTaps.isEmpty ? "the student declares no encoder taps" : nil
        case .studentDecoderTaps: return student.decoderTaps.isEmpty ? "the student declares no decoder taps" : nil
        case .teacherAOutput:
            return teacherA == nil ? "no teacher is given" : nil
        case .teacherAEncoderTaps:
            guard let teacherA else { return "no teacher is given" }
            return teacherA.encoderTaps.isEmpty ? "teacher A declares no encoder taps" : nil
        case .teacherADecoderTaps:
            guard let teacherA else { return "no teacher is given" }
            return teacherA.decoderTaps.isEmpty ? "teacher A declares no decoder taps" : nil
        case .teacherBOutput:
            return b == nil ? "no teacher is given" : nil
        case .teacherBDecoderTaps:
            guard let b else { return "no teacher is given" }
            return b.decoderTaps.isEmpty ? "teacher B declares no decoder taps" : nil
        }
    }
}

extension DistillationRequirement {
    /// The union of what `terms` read.
    public static func union(of terms: [any DistillationTerm]) -> Set<Self> {
        terms.reduce(into: Set()) { $0.formUnion($1.requirements) }
    }

    /// Checks that every input `terms` read can be computed with these networks: each teacher pass
    /// and tap exists, teacher B is asked for one input only, and SCM-mapped taps pair up by index.
    ///
    /// - Throws: ``DistillationSetupError`` for the first term that cannot be computed.
    public static func validate(terms: [any DistillationTerm], student: any RestorationModel, teacherA: (any RestorationModel)?,
                                teacherB: (any RestorationModel)? = nil) throws(DistillationSetupError) {
        var bInput: (input: DistillationConfiguration.TeacherBInput, term: String)?
        for term in terms {
            for requirement in term.requirements.sorted(by: { $0.description < $1.description }) {
                if let reason = requirement.unavailability(student: student, teacherA: teacherA, teacherB: teacherB) {
                    throw DistillationSetupError(term: term.name, requirement: requirement, reason: reason)
                }
                switch requirement {
                case .teacherBOutput(let input), .teacherBDecoderTaps(let input):
                    if let prior = bInput, prior.input != input {
                        throw DistillationSetupError(term: term.name, requirement: requirement,
                                                     reason: "term '\(prior.term)' has teacher B on the \(prior.input.rawValue) batch (one input a run)")
                    }
                    bInput = (input: input, term: term.name)
                default: break
                }
            }
            if term.requirements.contains(.scm), let teacherA {
                for teacher in [teacherA] + (teacherB.map { [$0] } ?? []) {
                    guard student.encoderTaps.count == teacher.encoderTaps.count, student.decoderTaps.count == teacher.decoderTaps.count else {
                        throw DistillationSetupError(
                            term: term.name, requirement: .scm,
                            reason: "the teacher's \(teacher.encoderTaps.count) encoder and \(teacher.decoderTaps.count) decoder feature taps "
                                + "do not pair with the student's \(student.encoderTaps.count) and \(student.decoderTaps.count) (the SCM matches them by index)")
                    }
                }
            }
        }
    }
}
