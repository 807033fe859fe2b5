import Dispatch
import SLKDModels

/// SLKD (and its baselines) as a ``TrainingObjective``: the dual-teacher, single-student set-up
/// of the paper (Fig. 2). Teacher A and the student see the degraded batch; teacher B sees the
/// clean batch (or, ablated, the degraded one).
///
/// Teachers are frozen, switched to evaluation mode and run without recording a graph; each
/// runs at most once per batch, recording only the taps the configuration needs (outputs are
/// kept for the current batch id, so a repeated call for the same batch reuses them; when
/// teacher B is teacher A on the same input, one forward serves both).
///
/// ```swift
/// let objective = DistillationObjective(student: student, teacherA: teacher, configuration: .slkd, using: &g)
/// let trainer = try Trainer(objective: objective, data: source, configuration: .init(totalSteps: 1000), logger: logger)
/// try trainer.run()
/// ```
public final class DistillationObjective: TrainingObjective {
    public let student: any RestorationModel
    public let teacherA: any RestorationModel
    /// Teacher B: a separate network, or teacher A itself (the default, Docs/Method.md#networks).
    public let teacherB: any RestorationModel
    /// The SCM, when the configuration compares features (SLKD's L_nc/L_et, FitNets).
    public let scm: ScaleConversionModule?
    /// The loss this objective minimises.
    public let criterion: SLKDLoss
    public var configuration: DistillationConfiguration { criterion.configuration }

    /// Teacher forwards run so far (A and B counted separately; a shared forward counts once).
    public private(set) var teacherForwardCount = 0
    private var cache: (batch: Int, outputs: TeacherOutputs)?

    /// Forward each distinct sample of teacher B's input once: a clean patch that appears twice in
    /// a batch reuses the first one's outputs (results unchanged; on by default).
    public var reusesRepeatedTeacherBInputs = true
    /// Samples the teachers have forwarded so far (A and B together).
    public private(set) var teacherSamplesForwarded = 0

    /// When teacher B is teacher A on the clean batch (the default, Docs/Method.md#networks), run both inputs through
    /// one forward of twice the batch and split the outputs, instead of two forwards. Off by
    /// default: see Docs/Benchmarks.md ("Distillation step profile") for what it gains here.
    public var batchesTeacherForwards = false

    /// The most samples a teacher forwards at once: a larger batch is forwarded in slices of
    /// this size and the outputs joined (`nil`: the whole batch at once). The results are the
    /// same — every teacher layer works sample by sample — and slices keep each activation small
    /// enough to stay in cache (see Docs/Benchmarks.md, "Distillation step profile").
    public var teacherSliceSize: Int? = nil {
        didSet { precondition(teacherSliceSize.map { $0 > 0 } ?? true, "teacherSliceSize must be positive") }
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
    ///   - scm: an SCM over the student's encoder then decoder taps; nil builds one (probing the
    ///     networks' tap widths) when the configuration needs it.
    ///   - configuration: the method, its weights and ablations.
    ///   - generator: initialises the SCM when one is built here.
    public init(student: any RestorationModel, teacherA: any RestorationModel, teacherB: (any RestorationModel)? = nil,
                configuration: DistillationConfiguration = .slkd, scm: ScaleConversionModule? = nil,
                using generator: inout RandomGenerator) {
        self.student = student
        self.teacherA = teacherA
        let b = teacherB ?? teacherA
        self.teacherB = b
        criterion = SLKDLoss(configuration)
        for teacher in [teacherA, b] {
            teacher.eval()
            teacher.freeze()
        }
        if configuration.usesSCM {
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
        if let scm, configuration.usesSCM { modules.append(("scm", scm)) }
        return modules
    }

    /// What the teachers produced for one batch.
    struct TeacherOutputs {
        var a: ModelOutput?
        var b: ModelOutput?
    }

    /// Teacher outputs for `batch`, computed once per batch id.
    func teacherOutputs(for batch: TrainingBatch) -> TeacherOutputs {
        if let cache, cache.batch == batch.id {
            if profiling { lastProfile?.teachersCached = true }
            return cache.outputs
        }
        let c = configuration
        var tapsA = Set<String>(), tapsB = Set<String>()
        if c.needsTeacherAEncoderTaps { tapsA.formUnion(teacherA.encoderTaps) }
        if c.needsTeacherADecoderTaps { tapsA.formUnion(teacherA.decoderTaps) }
        if c.needsTeacherBDecoderTaps { tapsB.formUnion(teacherB.decoderTaps) }
        let needA = c.needsTeacherAImage || !tapsA.isEmpty
        let needB = c.needsTeacherBImage || !tapsB.isEmpty
        let bInput = c.teacherBInput == .clean ? batch.clean : batch.degraded
        var out = TeacherOutputs()
        withoutGradients {
            if needA && needB && teacherB === teacherA && c.teacherBInput == .degraded {
                // One network, one input: a single forward serves both roles.
                let started = Self.now()
                let both = forwardInSlices(teacherA, batch.degraded, features: tapsA.union(tapsB))
                teacherForwardCount += 1
                teacherSamplesForwarded += batch.batchSize
                if profiling { lastProfile?.teacherA = Self.seconds(since: started); lastProfile?.sharedTeacherForward = true }
                out.a = both
                out.b = both
            } else if needA && needB && teacherB === teacherA && batchesTeacherForwards {
                // One network, two inputs: one forward over [degraded; B's input], split after.
                let started = Self.now()
                let n = batch.batchSize
                let both = forwardInSlices(teacherA, Tensor.concatenated([batch.degraded, bInput], axis: 0), features: tapsA.union(tapsB))
                teacherForwardCount += 1
                teacherSamplesForwarded += 2 * n
                if profiling { lastProfile?.teacherA = Self.seconds(since: started); lastProfile?.sharedTeacherForward = true }
                func half(_ output: ModelOutput, _ k: Int, _ taps: Set<String>) -> ModelOutput {
                    func part(_ t: Tensor) -> Tensor { t.narrowed(axis: 0, start: k * n, length: n) }
                    var features: [String: Tensor] = [:]
                    for name in taps {
                        guard let f = output.features[name] else { preconditionFailure("model did not record tap '\(name)'") }
                        features[name] = part(f)
                    }
                    return ModelOutput(image: part(output.image), features: features)
                }
                out.a = half(both, 0, tapsA)
                out.b = half(both, 1, tapsB)
            } else {
                if needA {
                    let started = Self.now()
                    out.a = forwardInSlices(teacherA, batch.degraded, features: tapsA)
                    teacherForwardCount += 1
                    teacherSamplesForwarded += batch.batchSize
                    if profiling { lastProfile?.teacherA = Self.seconds(since: started) }
                }
                if needB {
                    let started = Self.now()
                    out.b = forwardDistinct(teacherB, bInput, features: tapsB)
                    teacherForwardCount += 1
                    if profiling { lastProfile?.teacherB = Self.seconds(since: started) }
                }
            }
        }
        cache = (batch.id, out)
        return out
    }

    /// `model` on `input` with each distinct sample forwarded once (when
    /// ``reusesRepeatedTeacherBInputs``): repeats take the outputs of their first occurrence.
    /// Samples are compared bit for bit, so the outputs are those of the plain forward.
    func forwardDistinct(_ model: any RestorationModel, _ input: Tensor, features: Set<String>) -> ModelOutput {
        let n = input.shape[0]
        func sample(_ t: Tensor, _ i: Int) -> Tensor { t.narrowed(axis: 0, start: i, length: 1) }
        var slot: [Int] = [], distinct: [Int] = []
        if reusesRepeatedTeacherBInputs && n > 1 {
            let bits = (0..<n).map { i in sample(input, i).doubles.map(\.bitPattern) }
            for i in 0..<n {
                if let k = distinct.firstIndex(where: { bits[$0] == bits[i] }) {
                    slot.append(k)
                } else {
                    slot.append(distinct.count)
                    distinct.append(i)
                }
            }
        }
        guard !distinct.isEmpty, distinct.count < n else {
            teacherSamplesForwarded += n
            return forwardInSlices(model, input, features: features)
        }
        teacherSamplesForwarded += distinct.count
        let out = forwardInSlices(model, Tensor.concatenated(distinct.map { sample(input, $0) }, axis: 0), features: features)
        func spread(_ t: Tensor) -> Tensor { Tensor.concatenated(slot.map { sample(t, $0) }, axis: 0) }
        return ModelOutput(image: spread(out.image), features: out.features.mapValues(spread))
    }

    /// `model` on `input`, at most ``teacherSliceSize`` samples per forward, outputs joined.
    func forwardInSlices(_ model: any RestorationModel, _ input: Tensor, features: Set<String>) -> ModelOutput {
        let n = input.shape[0]
        guard let size = teacherSliceSize, size < n else { return model.forward(input, features: features) }
        let parts = stride(from: 0, to: n, by: size).map { start in
            model.forward(input.narrowed(axis: 0, start: start, length: Swift.min(size, n - start)), features: features)
        }
        var joined: [String: Tensor] = [:]
        for name in parts[0].features.keys {
            joined[name] = Tensor.concatenated(parts.map { $0.features[name]! }, axis: 0)
        }
        return ModelOutput(image: Tensor.concatenated(parts.map(\.image), axis: 0), features: joined)
    }

    /// The forward results the criterion needs for `batch`: the student's output and taps (with
    /// a graph unless gradients are off) and the teachers' (cached per batch id).
    func distillationForward(for batch: TrainingBatch) -> DistillationForward {
        let c = configuration
        let teachers = teacherOutputs(for: batch)
        student.train()
        let studentStarted = Self.now()
        var studentTaps = Set<String>()
        if c.needsStudentEncoderTaps { studentTaps.formUnion(student.encoderTaps) }
        if c.needsStudentDecoderTaps { studentTaps.formUnion(student.decoderTaps) }
        let s = student.forward(batch.degraded, features: studentTaps)
        if profiling { lastProfile?.student = Self.seconds(since: studentStarted) }
        func taps(_ output: ModelOutput?, _ names: [String], _ wanted: Bool) -> [Tensor] {
            guard wanted, let output else { return [] }
            return names.map { name in
                guard let f = output.features[name] else { preconditionFailure("model did not record tap '\(name)'") }
                return f
            }
        }
        return DistillationForward(
            student: s.image,
            studentEncoder: taps(s, student.encoderTaps, c.needsStudentEncoderTaps),
            studentDecoder: taps(s, student.decoderTaps, c.needsStudentDecoderTaps),
            teacherA: teachers.a?.image,
            teacherAEncoder: taps(teachers.a, teacherA.encoderTaps, c.needsTeacherAEncoderTaps),
            teacherADecoder: taps(teachers.a, teacherA.decoderTaps, c.needsTeacherADecoderTaps),
            teacherB: teachers.b?.image,
            teacherBDecoder: taps(teachers.b, teacherB.decoderTaps, c.needsTeacherBDecoderTaps),
            groundTruth: batch.clean)
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
        return StepLoss(total: total, terms: terms.mapValues(\.item), prediction: forward.student.detached())
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
