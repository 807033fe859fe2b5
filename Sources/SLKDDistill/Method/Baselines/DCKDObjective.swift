import SLKDModels

extension DistillationConfiguration {
    /// DCKD's settings (Docs/Method.md#dckd).
    public struct DCKDSettings: Codable, Sendable, Hashable {
        /// What the crossed outputs are compared with.
        public enum Target: String, Codable, Sendable, Hashable {
            /// The ground truth (the default: an SR network's output is supervised by it).
            case groundTruth
            /// Teacher A's output on the degraded input (CrossKD's and Bai et al.'s choice).
            case teacher
        }

        /// λ_ST: the student's features through the SCM into the teacher's later stages.
        public var studentToTeacherWeight = 1.0
        /// λ_TS: the teacher's features through the reverse adapters into the student's later stages.
        public var teacherToStudentWeight = 1.0
        public var target: Target = .groundTruth
        /// Cut after the last encoder tap (the whole encoder side is crossed).
        public var encoderCut = true
        /// Cut after the decoder tap before the last (what is left is the output stage).
        public var decoderCut = true

        public init() {}
    }

    /// ``dckd`` or the defaults.
    public var dckdSettings: DCKDSettings { dckd ?? DCKDSettings() }
}

/// DCKD adapted to restoration (Docs/Method.md#dckd) as a ``TrainingObjective``:
///
/// L = w·L1(S(x), y) + λ_ST·mean_k L1(T_{>k}(SCM(S_{≤k}(x))), τ) + λ_TS·mean_k L1(S_{>k}(R(T_{≤k}(x))), τ)
///
/// where a cut k replaces the outputs of the stages it names (`RestorationModel/forward(_:features:replacing:)`).
/// The SCM maps student taps to the teacher's widths; R, a second module of 1×1 convolutions,
/// maps teacher taps to the student's. Both are trained with the student and unused at inference.
public final class DCKDObjective: TrainingObjective {
    public let student: any RestorationModel
    public let teacher: any RestorationModel
    /// Student → teacher widths, over the encoder then decoder taps.
    public let scm: ScaleConversionModule
    /// Teacher → student widths, over the same taps.
    public let reverse: ScaleConversionModule
    public let settings: DistillationConfiguration.DCKDSettings
    public let pixelWeight: Double
    public let pixelLoss: PixelLossKind

    public init(student: any RestorationModel, teacher: any RestorationModel, settings: DistillationConfiguration.DCKDSettings = .init(),
                pixelWeight: Double = 1, pixelLoss: PixelLossKind = .l1, using generator: inout RandomGenerator) {
        precondition(student.encoderTaps.count == teacher.encoderTaps.count && student.decoderTaps.count == teacher.decoderTaps.count,
                     "DCKD: student and teacher taps are paired by index and must agree in number")
        precondition(settings.encoderCut || settings.decoderCut, "DCKD needs at least one cut")
        precondition(!settings.decoderCut || student.decoderTaps.count >= 2, "DCKD's decoder cut needs two decoder taps")
        self.student = student
        self.teacher = teacher
        self.settings = settings
        self.pixelWeight = pixelWeight
        self.pixelLoss = pixelLoss
        teacher.eval()
        teacher.freeze()
        let dtype = ScaleConversionModule.probeType(student)
        scm = ScaleConversionModule(student: student, teacher: teacher, mode: .teacherSpace, dtype: dtype, using: &generator)
        reverse = ScaleConversionModule(student: teacher, teacher: student, mode: .teacherSpace, dtype: dtype, using: &generator)
    }

    public var trainableModules: [(key: String, module: Module)] { [("student", student), ("scm", scm), ("reverse", reverse)] }

    /// The tap indices (encoder then decoder order) each cut replaces.
    public var cuts: [[Int]] {
        let e = student.encoderTaps.count, d = student.decoderTaps.count
        var cuts: [[Int]] = []
        if settings.encoderCut { cuts.append(Array(0..<e)) }
        if settings.decoderCut { cuts.append([e + d - 2]) }
        return cuts
    }

    /// The loss terms of one batch: the total and each term's value.
    public func terms(degraded x: Tensor, clean y: Tensor)
        -> (total: Tensor, terms: [String: Double], prediction: Tensor, weighted: [String: Tensor]) {
        let studentTaps = student.encoderTaps + student.decoderTaps
        let teacherTaps = teacher.encoderTaps + teacher.decoderTaps
        let used = Set(cuts.joined())
        let s = student.forward(x, features: Set(used.map { studentTaps[$0] }))
        let t = withoutGradients { teacher.forward(x, features: Set(used.map { teacherTaps[$0] })) }
        let target = settings.target == .groundTruth ? y : t.image.detached()
        let pixel = pixelLoss(s.image, y)
        var total = pixel * pixelWeight
        var terms = ["pixel": pixel.item]
        var weighted = ["pixel": total]
        if settings.studentToTeacherWeight != 0 {
            var sum: Tensor?
            for cut in cuts {
                var replacements: [String: Tensor] = [:]
                for k in cut {
                    let tf = t.features[teacherTaps[k]]!
                    replacements[teacherTaps[k]] = scm.mapStudent(s.features[studentTaps[k]]!, tap: k, size: (tf.shape[2], tf.shape[3]))
                }
                let crossed = PixelLoss.l1(teacher.forward(x, features: [], replacing: replacements).image, target)
                sum = sum.map { $0 + crossed } ?? crossed
            }
            let st = sum! / Double(cuts.count)
            terms["student_to_teacher"] = st.item
            weighted["student_to_teacher"] = st * settings.studentToTeacherWeight
            total = total + weighted["student_to_teacher"]!
        }
        if settings.teacherToStudentWeight != 0 {
            var sum: Tensor?
            for cut in cuts {
                var replacements: [String: Tensor] = [:]
                for k in cut {
                    let sf = s.features[studentTaps[k]]!
                    replacements[studentTaps[k]] = reverse.mapStudent(t.features[teacherTaps[k]]!.detached(), tap: k,
                                                                      size: (sf.shape[2], sf.shape[3]))
                }
                let crossed = PixelLoss.l1(student.forward(x, features: [], replacing: replacements).image, target)
                sum = sum.map { $0 + crossed } ?? crossed
            }
            let ts = sum! / Double(cuts.count)
            terms["teacher_to_student"] = ts.item
            weighted["teacher_to_student"] = ts * settings.teacherToStudentWeight
            total = total + weighted["teacher_to_student"]!
        }
        return (total, terms, s.image.detached(), weighted)
    }

    public func loss(for batch: TrainingBatch, generator: inout RandomGenerator) -> StepLoss {
        student.train()
        let r = terms(degraded: batch.degraded, clean: batch.clean)
        return StepLoss(total: r.total, terms: r.terms, prediction: r.prediction, weightedTerms: r.weighted)
    }

    public func restore(_ degraded: Tensor) -> Tensor {
        student.eval()
        defer { student.train() }
        return withoutGradients { student(degraded) }
    }
}
