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
    /// Teacher B: a separate network, or teacher A itself (SPEC default).
    public let teacherB: any RestorationModel
    /// The SCM, when the configuration compares features (SLKD's L_nc/L_et, FitNets).
    public let scm: ScaleConversionModule?
    /// The loss this objective minimises.
    public let criterion: SLKDLoss
    public var configuration: DistillationConfiguration { criterion.configuration }

    /// Teacher forwards run so far (A and B counted separately; a shared forward counts once).
    public private(set) var teacherForwardCount = 0
    private var cache: (batch: Int, outputs: TeacherOutputs)?

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
        if let cache, cache.batch == batch.id { return cache.outputs }
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
                let both = teacherA.forward(batch.degraded, features: tapsA.union(tapsB))
                teacherForwardCount += 1
                out.a = both
                out.b = both
            } else {
                if needA { out.a = teacherA.forward(batch.degraded, features: tapsA); teacherForwardCount += 1 }
                if needB { out.b = teacherB.forward(bInput, features: tapsB); teacherForwardCount += 1 }
            }
        }
        cache = (batch.id, out)
        return out
    }

    public func loss(for batch: TrainingBatch, generator: inout RandomGenerator) -> StepLoss {
        let c = configuration
        let teachers = teacherOutputs(for: batch)
        student.train()
        var studentTaps = Set<String>()
        if c.needsStudentEncoderTaps { studentTaps.formUnion(student.encoderTaps) }
        if c.needsStudentDecoderTaps { studentTaps.formUnion(student.decoderTaps) }
        let s = student.forward(batch.degraded, features: studentTaps)
        func taps(_ output: ModelOutput?, _ names: [String], _ wanted: Bool) -> [Tensor] {
            guard wanted, let output else { return [] }
            return names.map { name in
                guard let f = output.features[name] else { preconditionFailure("model did not record tap '\(name)'") }
                return f
            }
        }
        let forward = DistillationForward(
            student: s.image,
            studentEncoder: taps(s, student.encoderTaps, c.needsStudentEncoderTaps),
            studentDecoder: taps(s, student.decoderTaps, c.needsStudentDecoderTaps),
            teacherA: teachers.a?.image,
            teacherAEncoder: taps(teachers.a, teacherA.encoderTaps, c.needsTeacherAEncoderTaps),
            teacherADecoder: taps(teachers.a, teacherA.decoderTaps, c.needsTeacherADecoderTaps),
            teacherB: teachers.b?.image,
            teacherBDecoder: taps(teachers.b, teacherB.decoderTaps, c.needsTeacherBDecoderTaps),
            groundTruth: batch.clean)
        let (total, terms) = criterion(forward, scm: scm)
        return StepLoss(total: total, terms: terms.mapValues(\.item), prediction: s.image.detached())
    }

    public func restore(_ degraded: Tensor) -> Tensor {
        student.eval()
        defer { student.train() }
        return withoutGradients { student(degraded) }
    }
}
