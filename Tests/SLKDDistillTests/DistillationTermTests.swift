import Foundation
import SLKDModels
import Testing
import SLKDDistill

/// Loss terms as values: the Table IV arms compute exactly their terms from exactly their teacher
/// passes, the union of the terms' requirements decides the passes, a term of one's own plugs in,
/// and what cannot be computed is a typed error when the objective is built.
@Suite("Distillation terms")
struct DistillationTermTests {
    static func batch(id: Int = 0) -> TrainingBatch { MethodObjectiveTests.batch(id: id) }

    static func networks() -> (student: TinyRestorer, teacher: TinyRestorer) {
        (TinyRestorer(width: 2, dtype: .float64, seed: 2), TinyRestorer(width: 4, dtype: .float64, seed: 3))
    }

    /// The mean square of the student's output, w·mean(S²): d/dS = 2w·S/N.
    struct MeanSquareTerm: DistillationTerm {
        var name: String { "energy" }
        var weight: Double
        var requirements: Set<DistillationRequirement> { [] }
        func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor { f.student.squared().mean() }
    }

    /// Reads teacher A's decoder taps (which no SLKD term reads): mean over taps of mean(A_k).
    struct TeacherDecoderMeanTerm: DistillationTerm {
        var name: String { "a_decoder" }
        var weight: Double { 1e-3 }
        var requirements: Set<DistillationRequirement> { [.teacherADecoderTaps] }
        func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor {
            var v = f.student.mean() * 0
            for tap in try f.taps(.teacherADecoderTaps, for: name) { v = v + tap.mean() }
            return v
        }
    }

    /// Teacher B on the degraded batch, whatever the configuration says.
    struct DegradedTeacherBTerm: DistillationTerm {
        var name: String { "b_degraded" }
        var weight: Double { 1 }
        var requirements: Set<DistillationRequirement> { [.teacherBOutput(on: .degraded)] }
        func value(_ f: DistillationForward) throws(DistillationInputError) -> Tensor {
            (f.student - (try f.teacherBOutput(on: .degraded, for: name))).abs().mean()
        }
    }

    @Test(arguments: 1...5)
    func tableIVRowComputesExactlyItsTerms(row: Int) throws {
        let arm = try #require(ComparedMethod.table4(row: row))
        #expect(arm.name == "table4_row\(row)")
        #expect(ComparedMethod.named(arm.name) == arm)
        let (student, teacher) = Self.networks()
        var g = RandomGenerator(seed: 1)
        let o = DistillationObjective(student: student, teacherA: teacher, configuration: arm.configuration, using: &g)
        o.profiling = true
        let step = o.loss(for: Self.batch(), generator: &g)
        let expected: Set<String> = switch row {
        case 1, 2: ["pixel", "kl"]
        case 3: ["pixel", "kl", "nc"]
        case 4: ["pixel", "kl", "et"]
        default: ["pixel", "kl", "nc", "et"]
        }
        #expect(Set(step.terms.keys) == expected)
        let bInput: DistillationConfiguration.TeacherBInput = row == 1 ? .degraded : .clean
        #expect(o.lastForward?.teacherBInput == bInput)
        var needs: Set<DistillationRequirement> = [.teacherAOutput, .teacherBOutput(on: bInput)]
        if row == 3 || row == 5 { needs.formUnion([.studentEncoderTaps, .teacherAEncoderTaps, .scm]) }
        if row == 4 || row == 5 { needs.formUnion([.studentDecoderTaps, .teacherBDecoderTaps(on: .clean), .scm]) }
        #expect(o.requirements == needs)
        // The teacher passes: row 1 is one forward of teacher A on the degraded batch serving both
        // roles; the others run A on degraded and B on clean, with only the taps their terms read.
        let passes = o.teachers.lastPasses
        if row == 1 {
            #expect(passes == [.init(roles: [.a, .b], inputs: [.degraded], taps: [], samples: 2)])
        } else {
            let tapsA: Set<String> = row == 3 || row == 5 ? ["enc1", "enc2"] : []
            let tapsB: Set<String> = row == 4 || row == 5 ? ["dec1", "dec0"] : []
            #expect(passes == [.init(roles: [.a], inputs: [.degraded], taps: tapsA, samples: 2),
                               .init(roles: [.b], inputs: [.clean], taps: tapsB, samples: 2)])
        }
        // Row 5 is the full Res-SL and the same numbers as `slkd`.
        if row == 5 {
            #expect(arm.configuration == ComparedMethod.slkd.configuration)
            let (s2, t2) = Self.networks()
            var g2 = RandomGenerator(seed: 1)
            let reference = DistillationObjective(student: s2, teacherA: t2, configuration: .slkd, using: &g2)
            #expect(reference.loss(for: Self.batch(), generator: &g2).total.item.bitPattern == step.total.item.bitPattern)
        }
    }

    /// Docs/Method.md#table-iv lists the options that express each row.
    @Test(arguments: 1...5)
    func tableIVRowIsItsDocumentedOptions(row: Int) throws {
        let keys = [["teacher_b_input: degraded", "use_degradation_removal: false", "use_image_reconstruction: false"],
                    ["use_degradation_removal: false", "use_image_reconstruction: false"],
                    ["use_image_reconstruction: false"], ["use_degradation_removal: false"], []][row - 1]
        let yaml = TrainingOptionsTests.officialDeraining + "\nnetwork_teacher:\n  type: Restormer\ndistill:\n  method: slkd\n"
            + keys.map { "  \($0)\n" }.joined()
        let text = yaml.replacingOccurrences(of: "pretrain_network_g: ~", with: "pretrain_network_g: ~\n  pretrain_network_teacher: teacher.pth")
        let read = try TrainingOptions(yaml: text, baseFolder: URL(fileURLWithPath: "/x")).distillation
        let arm = try #require(ComparedMethod.table4(row: row)).configuration
        #expect(read.method == arm.method && read.teacherBInput == arm.teacherBInput)
        #expect(read.useDegradationRemoval == arm.useDegradationRemoval && read.useImageReconstruction == arm.useImageReconstruction)
        #expect(read.terms.map(\.name) == arm.terms.map(\.name))
    }

    @Test func theUnionOfRequirementsDecidesTheTeacherPasses() throws {
        var g = RandomGenerator(seed: 1)
        // Output-only KD reads teacher A's output only: one pass, no taps, no teacher B.
        let (s1, t1) = Self.networks()
        let kd = DistillationObjective(student: s1, teacherA: t1, configuration: .method(.outputKD), using: &g)
        _ = kd.loss(for: Self.batch(), generator: &g)
        #expect(kd.requirements == [.teacherAOutput])
        #expect(kd.teachers.lastPasses == [.init(roles: [.a], inputs: [.degraded], taps: [], samples: 2)])
        // Adding a term that reads teacher A's decoder taps adds those taps to A's one pass.
        let (s2, t2) = Self.networks()
        let more = try DistillationObjective(student: s2, teacherA: t2, configuration: .method(.outputKD),
                                             adding: [TeacherDecoderMeanTerm()], using: &g)
        let step = more.loss(for: Self.batch(), generator: &g)
        #expect(Set(step.terms.keys) == ["pixel", "a_decoder"])
        #expect(more.teachers.lastPasses == [.init(roles: [.a], inputs: [.degraded], taps: ["dec1", "dec0"], samples: 2)])
        #expect(more.teacherForwardCount == 1)
        // A student-only term needs no teacher pass at all.
        let (s3, t3) = Self.networks()
        var none = DistillationConfiguration.slkd
        none.pixelTarget = .groundTruth
        none.klWeight = 0
        none.useDegradationRemoval = false
        none.useImageReconstruction = false
        let alone = try DistillationObjective(student: s3, teacherA: t3, configuration: none, adding: [MeanSquareTerm(weight: 1)], using: &g)
        _ = alone.loss(for: Self.batch(), generator: &g)
        #expect(alone.teacherForwardCount == 0 && alone.teachers.lastPasses.isEmpty)
    }

    @Test func aCustomTermsValueAndGradientAppear() throws {
        // Only the custom term: value w·mean(x²), gradient 2w·x/N, against the closed form.
        var none = DistillationConfiguration.slkd
        none.pixelWeight = 0
        none.klWeight = 0
        none.useDegradationRemoval = false
        none.useImageReconstruction = false
        let w = 0.3
        let loss = SLKDLoss(none, adding: [MeanSquareTerm(weight: w)])
        #expect(loss.terms.map(\.name) == ["energy"])
        var g = RandomGenerator(seed: 4)
        let x = Tensor.normal([2, 3, 4, 4], dtype: .float64, using: &g).requiringGrad()
        let f = DistillationForward(student: x, groundTruth: Tensor.zeros([2, 3, 4, 4], dtype: .float64))
        let (total, terms) = try loss.evaluate(f)
        let values = x.doubles, n = Double(values.count)
        let meanSquare = values.map { $0 * $0 }.reduce(0, +) / n
        #expect(Swift.abs(terms["energy"]!.item - meanSquare) <= 1e-14 * meanSquare)
        #expect(Swift.abs(total.item - w * meanSquare) <= 1e-14 * meanSquare)
        let gradient = total.gradients(wrt: [x])[0].doubles
        for (gi, xi) in zip(gradient, values) { #expect(Swift.abs(gi - 2 * w * xi / n) <= 1e-15) }

        // Through the objective: the term's value is in the step's terms and its weight in the
        // total; the built-in terms are those of SLKD, unchanged.
        let (student, teacher) = Self.networks()
        var g1 = RandomGenerator(seed: 1)
        let o = try #require(try DistillationConfiguration.slkd.objective(student: student, teacherA: teacher,
                                                                           adding: [MeanSquareTerm(weight: w)], using: &g1)
                             as? DistillationObjective)
        let step = o.loss(for: Self.batch(), generator: &g)
        #expect(Set(step.terms.keys) == ["pixel", "kl", "nc", "et", "energy"])
        let s = withoutGradients { student(Self.batch().degraded) }.doubles
        let expected = s.map { $0 * $0 }.reduce(0, +) / Double(s.count)
        #expect(Swift.abs(step.terms["energy"]! - expected) <= 1e-12 * expected)
        let t = step.terms
        let sum = t["pixel"]! + 0.5 * t["kl"]! + 0.1 * (t["nc"]! + t["et"]!) + w * t["energy"]!
        #expect(Swift.abs(step.total.item - sum) <= 1e-12 * sum)
        let (s2, t2) = Self.networks()
        var g2 = RandomGenerator(seed: 1)
        let plain = DistillationObjective(student: s2, teacherA: t2, configuration: .slkd, using: &g2)
        let plainStep = plain.loss(for: Self.batch(), generator: &g2)
        for key in ["pixel", "kl", "nc", "et"] { #expect(plainStep.terms[key]!.bitPattern == t[key]!.bitPattern) }
    }

    @Test func whatCannotBeComputedIsATypedErrorAtSetUp() throws {
        let (student, teacher) = Self.networks()
        var g = RandomGenerator(seed: 1)
        // A teacher-feature term with no teacher.
        #expect(throws: DistillationSetupError(term: "nc", requirement: .teacherAEncoderTaps, reason: "no teacher is given")) {
            try DistillationRequirement.validate(terms: [DegradationRemovalTerm()], student: student, teacherA: nil)
        }
        #expect(throws: DistillationSetupError.self) {
            try DistillationRequirement.validate(terms: [KLTerm()], student: student, teacherA: nil)
        }
        #expect(throws: TrainingSetupError.self) {
            _ = try DistillationConfiguration.slkd.objective(student: student, teacherA: nil, using: &g)
        }
        #expect(throws: TrainingSetupError.self) {
            _ = try DistillationConfiguration.method(.studentAlone).objective(student: student, teacherA: nil,
                                                                              adding: [TeacherDecoderMeanTerm()], using: &g)
        }
        // Teacher B on both inputs in one run.
        do throws(DistillationSetupError) {
            _ = try DistillationObjective(student: student, teacherA: teacher, configuration: .slkd,
                                          adding: [DegradedTeacherBTerm()], using: &g)
            Issue.record("teacher B on two inputs was accepted")
        } catch {
            #expect(error.term == "b_degraded" && error.requirement == .teacherBOutput(on: .degraded))
        }
        // Taps a network does not declare.
        do throws(DistillationSetupError) {
            _ = try DistillationObjective(student: student, teacherA: TaplessRestorer(), configuration: .method(.outputKD),
                                          adding: [TeacherDecoderMeanTerm()], using: &g)
            Issue.record("a tap-less teacher was accepted")
        } catch {
            #expect(error.requirement == .teacherADecoderTaps)
        }
        // The same term with teacher B on degraded, as the configuration has it, is fine.
        var degraded = DistillationConfiguration.slkd
        degraded.teacherBInput = .degraded
        let o = try DistillationObjective(student: student, teacherA: teacher, configuration: degraded,
                                          adding: [DegradedTeacherBTerm()], using: &g)
        #expect(o.loss(for: Self.batch(), generator: &g).terms["b_degraded"]!.isFinite)
    }
}

/// A restoration network that declares no feature taps.
final class TaplessRestorer: Module, RestorationModel {
    let body: Conv2d

    override init() {
        var g = RandomGenerator(seed: 9)
        body = Conv2d(3, 3, kernelSize: 1, dtype: .float64, using: &g)
        super.init()
    }

    func callAsFunction(_ input: Tensor) -> Tensor { body(input) }
    func forward(_ input: Tensor, features: Set<String>) -> ModelOutput { ModelOutput(image: body(input), features: [:]) }
    var featureNames: [String] { [] }
    var encoderTaps: [String] { [] }
    var decoderTaps: [String] { [] }
    var sizeMultiple: Int { 1 }
    var inputChannels: Int { 3 }
}
