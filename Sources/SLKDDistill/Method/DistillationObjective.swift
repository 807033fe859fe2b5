import Dispatch
import SLKDModels

/// SLKD (and its baselines) as a ``TrainingObjective``: the dual-teacher, single-student set-up
/// of the paper (Fig. 2). Teacher A and the student see the degraded batch; teacher B sees the
/// clean batch (or, ablated, the degraded one).
///
/// The loss is a list of ``DistillationTerm`` values (``SLKDLoss``); the union of what they read
/// decides which teacher passes and taps run. A ``TeacherRunner`` runs the frozen teachers without
/// a graph, at most once per batch id (when teacher B is teacher A on the same input, one forward
/// serves both).
///
/// ```swift
/// let objective = DistillationObjective(student: student, teacherA: teacher, configuration: .slkd, using: &g)
/// let trainer = try Trainer(objective: objective, data: source, configuration: .init(totalSteps: 1000), logger: logger)
/// try trainer.run()
/// ```
public final class DistillationObjective: TrainingObjective {
    public let student: any RestorationModel
    public var teacherA: any RestorationModel { teachers.teacherA }
    /// Teacher B: a separate network, or teacher A itself (the default, Docs/Method.md#networks).
    public var teacherB: any RestorationModel { teachers.teacherB }
    /// Runs the teachers: the passes the terms need, once per batch.
    public let teachers: TeacherRunner
    /// The SCM, when a term maps features through one (SLKD's L_nc/L_et, FitNets).
    public let scm: ScaleConversionModule?
    /// The loss this objective minimises: its terms, in order.
    public let criterion: SLKDLoss
    public var configuration: DistillationConfiguration { criterion.configuration }
    /// The union of what the terms read; it decides which teacher passes and taps run.
    public let requirements: Set<DistillationRequirement>
    /// Whether the SCM is trained with the student.
    private let trainsSCM: Bool

    /// Teacher forwards run so far (A and B counted separately; a shared forward counts once).
    public var teacherForwardCount: Int { teachers.forwardCount }

    /// Forward each distinct sample of teacher B's input once: a clean patch that appears twice in
    /// a batch reuses the first one's outputs (results unchanged; on by default).
    public var reusesRepeatedTeacherBInputs: Bool {
        get { teachers.reusesRepeatedTeacherBInputs }
        set { teachers.reusesRepeatedTeacherBInputs = newValue }
    }
    /// Samples the teachers have forwarded so far (A and B together).
    public var teacherSamplesForwarded: Int { teachers.samplesForwarded }

    /// When teacher B is teacher A on the clean batch (the default, Docs/Method.md#networks), run both inputs through
    /// one forward of twice the batch and split the outputs, instead of two forwards. Off by
    /// default: see Docs/Benchmarks.md ("Distillation step profile") for what it gains here.
    public var batchesTeacherForwards: Bool {
        get { teachers.batchesTeacherForwards }
        set { teachers.batchesTeacherForwards = newValue }
    }

    /// The most samples a teacher forwards at once: a larger batch is forwarded in slices of
    /// this size and the outputs joined (`nil`: the whole batch at once). The results are the
    /// same — every teacher layer works sample by sample — and slices keep each activation small
    /// enough to stay in cache (see Docs/Benchmarks.md, "Distillation step profile").
    public var teacherSliceSize: Int? {
        get { teachers.sliceSize }
        set { teachers.sliceSize = newValue }
    }

    /// When on, each ``loss(for:generator:)`` records its phase times in ``lastProfile`` and keeps
    /// the forward results it combined in ``lastForward`` (results are unchanged; off by default,
    /// since `lastForward` holds the step's graph until the next step).
    public var profiling = false {
        didSet { if !profiling { lastProfile = nil; lastForward = nil } }
    }
    /// The phase times of the last ``loss(for:generator:)`` call, when ``profiling``.
    public private(set) var lastProfile: StepProfile?
    /// The forward results the last ``loss(for:generator:)`` call handed to the criterion, when
    /// ``profiling`` (for timing each loss term on its own).
    public private(set) var lastForward: DistillationForward?
    /// Whether the least-squares SCM fit of the first batch has run (it runs once per objective).
    var scmFittedOnFirstBatch = false

    /// - Parameters:
    ///   - student: the network being trained.
    ///   - teacherA: the teacher on the degraded input; frozen and switched to evaluation mode.
    ///   - teacherB: a separate teacher B, or nil for teacher A's weights on B's input.
    ///   - configuration: the method, its weights and ablations (not ``DistillationConfiguration/Method-swift.enum/dfkd``
    ///     or ``DistillationConfiguration/Method-swift.enum/dckd``, which have objectives of their own:
    ///     ``DistillationConfiguration/objective(student:teacherA:teacherB:adding:using:)`` builds any method).
    ///   - scm: an SCM over the student's encoder then decoder taps; nil builds one (probing the
    ///     networks' tap widths) when the configuration needs it.
    ///   - generator: initialises the SCM when one is built here.
    public convenience init(student: any RestorationModel, teacherA: any RestorationModel, teacherB: (any RestorationModel)? = nil,
                            configuration: DistillationConfiguration = .slkd, scm: ScaleConversionModule? = nil,
                            using generator: inout RandomGenerator) {
        self.init(student: student, teachers: TeacherRunner(teacherA: teacherA, teacherB: teacherB),
                  criterion: SLKDLoss(configuration), scm: scm, using: &generator)
    }

    /// An objective with terms of your own added after the configuration's, every term checked
    /// against the networks first.
    ///
    /// - Parameters:
    ///   - student: as in ``init(student:teacherA:teacherB:configuration:scm:using:)``, as are
    ///     `teacherA`, `teacherB`, `configuration`, `scm` and `generator`.
    ///   - teacherA: teacher A.
    ///   - teacherB: a separate teacher B, or nil.
    ///   - configuration: the method, its weights and ablations.
    ///   - extraTerms: the added terms (``DistillationTerm``).
    ///   - scm: an SCM over the student's encoder then decoder taps, or nil.
    ///   - generator: initialises the SCM when one is built here.
    /// - Throws: ``DistillationSetupError`` naming the first term whose inputs these networks
    ///   cannot provide.
    public convenience init(student: any RestorationModel, teacherA: any RestorationModel, teacherB: (any RestorationModel)? = nil,
                            configuration: DistillationConfiguration = .slkd, adding extraTerms: [any DistillationTerm],
                            scm: ScaleConversionModule? = nil, using generator: inout RandomGenerator) throws(DistillationSetupError) {
        let criterion = SLKDLoss(configuration, adding: extraTerms)
        try DistillationRequirement.validate(terms: criterion.terms, student: student, teacherA: teacherA, teacherB: teacherB)
        self.init(student: student, teachers: TeacherRunner(teacherA: teacherA, teacherB: teacherB), criterion: criterion,
                  scm: scm, using: &generator)
    }

    init(student: any RestorationModel, teachers: TeacherRunner, criterion: SLKDLoss, scm: ScaleConversionModule?,
         using generator: inout RandomGenerator) {
        self.student = student
        self.teachers = teachers
        self.criterion = criterion
        requirements = criterion.requirements
        let configuration = criterion.configuration
        // Not a value read from a file: options and the demo build DFKD and DCKD through
        // DistillationConfiguration.objective(...), which picks their own objectives. Building them
        // here would silently train the pixel term alone.
        precondition(configuration.method != .dfkd && configuration.method != .dckd,
                     "\(configuration.method) trains through DFKDObjective or DCKDObjective: build it with DistillationConfiguration.objective(student:teacherA:teacherB:using:)")
        trainsSCM = configuration.usesSCM || requirements.contains(.scm)
        if trainsSCM {
            let teacherA = teachers.teacherA
            precondition(student.encoderTaps.count == teacherA.encoderTaps.count
                         && student.decoderTaps.count == teacherA.decoderTaps.count,
                         "student taps (\(student.encoderTaps.count)+\(student.decoderTaps.count)) and teacher taps (\(teacherA.encoderTaps.count)+\(teacherA.decoderTaps.count)) are matched by index and must agree in number")
            self.scm = scm ?? ScaleConversionModule(student: student, teacher: teacherA, mode: configuration.scmMode,
                                                    dtype: ScaleConversionModule.probeType(student), using: &generator)
        } else {
            self.scm = scm
        }
    }

    public var trainableModules: [(key: String, module: Module)] {
        var modules: [(key: String, module: Module)] = [("student", student)]
        if let scm, trainsSCM { modules.append(("scm", scm)) }
        return modules
    }

    /// Teacher outputs for `batch`, computed once per batch id.
    func teacherOutputs(for batch: TrainingBatch) -> TeacherRunner.Outputs {
        let out = teachers.outputs(for: batch, needs: requirements)
        if profiling {
            let t = teachers.lastTiming
            lastProfile?.teacherA = t.teacherA
            lastProfile?.teacherB = t.teacherB
            lastProfile?.sharedTeacherForward = t.shared
            lastProfile?.teachersCached = t.cached
        }
        return out
    }

    /// The forward results the criterion needs for `batch`: the student's output and taps (with
    /// a graph unless gradients are off) and the teachers' (cached per batch id).
    func distillationForward(for batch: TrainingBatch) -> DistillationForward {
        let needs = requirements
        let outputs = teacherOutputs(for: batch)
        student.train()
        let studentStarted = Self.now()
        var studentTaps = Set<String>()
        if needs.contains(.studentEncoderTaps) { studentTaps.formUnion(student.encoderTaps) }
        if needs.contains(.studentDecoderTaps) { studentTaps.formUnion(student.decoderTaps) }
        let s = student.forward(batch.degraded, features: studentTaps)
        if profiling { lastProfile?.student = Self.seconds(since: studentStarted) }
        func taps(_ output: ModelOutput?, _ names: [String], _ wanted: Bool) -> [Tensor] {
            guard wanted, let output else { return [] }
            return names.map { name in
                guard let f = output.features[name] else { preconditionFailure("model did not record tap '\(name)'") }
                return f
            }
        }
        let bInput = outputs.bInput
        return DistillationForward(
            student: s.image,
            studentEncoder: taps(s, student.encoderTaps, needs.contains(.studentEncoderTaps)),
            studentDecoder: taps(s, student.decoderTaps, needs.contains(.studentDecoderTaps)),
            teacherA: outputs.a?.image,
            teacherAEncoder: taps(outputs.a, teacherA.encoderTaps, needs.contains(.teacherAEncoderTaps)),
            teacherADecoder: taps(outputs.a, teacherA.decoderTaps, needs.contains(.teacherADecoderTaps)),
            teacherB: outputs.b?.image,
            teacherBDecoder: taps(outputs.b, teacherB.decoderTaps, bInput.map { needs.contains(.teacherBDecoderTaps(on: $0)) } ?? false),
            teacherBInput: bInput,
            groundTruth: batch.clean,
            scm: scm)
    }

    /// Whether the SCM is fitted by least squares on `batch` (the run's first, id 0) and has not
    /// been yet.
    private func fitsSCM(on batch: TrainingBatch) -> Bool {
        configuration.scmInitialisation == .leastSquares && batch.id == 0 && scmFittedOnFirstBatch == false && scm != nil
    }

    /// Fits the SCM on the first batch before the first loss, so that a data-parallel trainer can
    /// then give every process rank 0's fit.
    public func prepare(for batch: TrainingBatch) {
        guard fitsSCM(on: batch), let scm else { return }
        fitSCM(scm, to: withoutGradients { distillationForward(for: batch) })
        scmFittedOnFirstBatch = true
    }

    public func loss(for batch: TrainingBatch, generator: inout RandomGenerator) -> StepLoss {
        if profiling { lastProfile = StepProfile() }
        let forward = distillationForward(for: batch)
        if fitsSCM(on: batch), let scm {
            fitSCM(scm, to: forward)
            scmFittedOnFirstBatch = true
        }
        let criterionStarted = Self.now()
        let (total, terms) = criterion(forward, scm: scm)
        if profiling {
            lastProfile?.criterion = Self.seconds(since: criterionStarted)
            lastForward = forward
        }
        var weighted: [String: Tensor] = [:]
        for term in criterion.terms { if let value = terms[term.name] { weighted[term.name] = value * term.weight } }
        return StepLoss(total: total, terms: terms.mapValues(\.item), prediction: forward.student.detached(),
                        weightedTerms: weighted)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    public func restore(_ degraded: Tensor) -> Tensor {
        student.eval()
        defer { student.train() }
        return withoutGradients { student(degraded) }
    }
}

extension DistillationObjective {
    /// Wall-clock seconds of the phases of one ``DistillationObjective/loss(for:generator:)``
    /// call (``DistillationObjective/profiling`` on). Backward and the optimizer step are the
    /// trainer's and are not included.
    public struct StepProfile: Sendable, Equatable {
        /// Teacher A's forward (no graph); when ``sharedTeacherForward``, the one forward serving both.
        public var teacherA = 0.0
        /// Teacher B's forward (no graph).
        public var teacherB = 0.0
        /// Whether one teacher forward served both roles (teacher B = A on the degraded input).
        public var sharedTeacherForward = false
        /// Whether the teachers' outputs for this batch were already cached (no teacher forward ran).
        public var teachersCached = false
        /// The student's forward (recording the graph and the taps the losses need).
        public var student = 0.0
        /// The loss: SCM mappings and every term, forward (recording the graph).
        public var criterion = 0.0

        public init() {}

        /// The sum of the phases.
        public var total: Double { teacherA + teacherB + student + criterion }
    }
}
