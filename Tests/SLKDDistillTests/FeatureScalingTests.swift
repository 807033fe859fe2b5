import Foundation
import Testing
import SLKDDistill

/// `distill.feature_scaling: teacher_spread` (Docs/Method.md#feature-scaling): values and
/// gradients against PyTorch, a Float64 gradient check, hand-computed cases, and the options.
@Suite("Feature scaling of L_nc and L_et")
struct FeatureScalingTests {
    static let cases = (try? loadReferenceCases("slkd_losses")) ?? []

    @Test("teacher_spread matches PyTorch (values and gradients)",
          arguments: ["slkd_feature_losses_teacher_spread", "slkd_feature_losses_teacher_spread_batch1"], [DType.float64, .float32])
    func matchesPyTorch(name: String, dtype: DType) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let (rtol, atol) = dtype == .float64 ? (1e-8, 1e-9) : (2e-3, 1e-3)
        let (scm, students, value) = MethodFeatureLossTests.evaluate(c, dtype: dtype, scaling: .teacherSpread)
        let expected = c.output.data, upstream = try #require(c.upstream).data
        for (i, symbol) in ["L_nc", "L_et"].enumerated() {
            #expect(Swift.abs(value[i].item - expected[i]) <= atol + rtol * Swift.abs(expected[i]), "\(symbol) \(value[i].item) vs \(expected[i])")
        }
        let grads = (value[0] * upstream[0] + value[1] * upstream[1]).backward()
        for k in 0..<3 {
            expectClose(try #require(grads[students[k]]), c.grads["s\(k)"]!.tensor(dtype), rtol: rtol * 10, atol: atol * 10, "d s\(k)")
            expectClose(try #require(grads[scm.student[k].weight]), c.grads["w\(k)"]!.tensor(dtype), rtol: rtol * 10, atol: atol * 10, "d w\(k)")
            expectClose(try #require(grads[scm.student[k].bias!]), c.grads["b\(k)"]!.tensor(dtype), rtol: rtol * 10, atol: atol * 10, "d b\(k)")
        }
    }

    @Test("the scaled losses pass a Float64 gradient check", arguments: [2, 1])
    func gradCheckOfTheScaledLosses(batch: Int) {
        let (students, teachers, scm) = MethodFeatureLossTests.gradientSetup(seed: 23)
        // Batch 1 exercises the fallback to the spread over channels.
        let s = students.map { $0.sliced(axis: 0, 0..<batch) }, t = teachers.map { $0.sliced(axis: 0, 0..<batch) }
        let nc = DegradationRemovalLoss(scaling: .teacherSpread), et = ImageReconstructionLoss(scaling: .teacherSpread)
        let report = gradCheck(s) { s in
            let m = scm(student: s, teacher: t)
            return nc(student: m.student, teacher: m.teacher) + et(student: m.student, teacher: m.teacher)
        }
        #expect(report.passed, "\(report)")
    }

    @Test func handComputedScales() {
        let e = FeatureScaling.epsilon
        func scaled(_ s: Tensor, _ t: Tensor) -> Double { FeatureScaling.teacherSpread.meanAbsoluteDifference(student: s, teacher: t).item }
        // Batch 2, one feature: teacher {1, 3} has population σ 1 = σ̄, so s = 1 + ε and |Δ| = (0.5, 1)
        // counts 0.75 / (1 + ε).
        let t = Tensor(shape: [2, 1], scalars: [1.0, 3.0]), s = Tensor(shape: [2, 1], scalars: [1.5, 2.0])
        #expect(Swift.abs(scaled(s, t) - 0.75 / (1 + e)) < 1e-15)
        #expect(FeatureScaling.none.meanAbsoluteDifference(student: s, teacher: t).item == 0.75)
        // Batch 1, two channels {1, 3}: the spread over the channels (σ 1) stands in.
        let t1 = Tensor(shape: [1, 2], scalars: [1.0, 3.0]), s1 = Tensor(shape: [1, 2], scalars: [2.0, 3.0])
        #expect(Swift.abs(scaled(s1, t1) - 0.5 / (1 + e)) < 1e-15)
        // One sample of one channel: unscaled.
        #expect(scaled(Tensor(shape: [1, 1, 2], scalars: [0.0, 4.0]), Tensor(shape: [1, 1, 2], scalars: [1.0, 1.0])) == 2)
        // A teacher constant over the batch: σ = σ̄ = 0, every weight is 1/ε.
        #expect(Swift.abs(scaled(Tensor(shape: [2, 1], scalars: [0.0, 4.0]), Tensor(shape: [2, 1], scalars: [1.0, 1.0])) - 2 / e) < 1e-9)
        // Per dimension: feature 0 has σ 2, feature 1 is constant (σ 0); σ̄ = 1, so s = (1.5, 0.5) + ε:
        // |Δ| = (1, 0.001) and (0, 0) give (1/(1.5 + ε) + 0.001/(0.5 + ε)) / 4.
        let tt = Tensor(shape: [2, 2], scalars: [0.0, 5.0, 4.0, 5.0]), ss = Tensor(shape: [2, 2], scalars: [1.0, 5.001, 4.0, 5.0])
        #expect(Swift.abs(scaled(ss, tt) - (1 / (1.5 + e) + 0.001 / (0.5 + e)) / 4) < 1e-12)
    }

    @Test func teacherGetsNoGradientThroughItsSpread() {
        var g = RandomGenerator(seed: 31)
        let t = Tensor.normal([2, 3, 16, 16], dtype: .float64, using: &g).requiringGrad()
        let s = Tensor.normal([2, 3, 16, 16], dtype: .float64, using: &g).requiringGrad()
        let loss = DegradationRemovalLoss(scaling: .teacherSpread)(student: [s], teacher: [t])
            + ImageReconstructionLoss(scaling: .teacherSpread)(student: [s], teacher: [t])
        let grads = loss.gradients(wrt: [s, t])
        #expect(grads[1].abs().max().item == 0)
        #expect(grads[0].abs().max().item > 0)
    }

    @Test func configurationAndOptionsCarryTheScaling() throws {
        #expect(DistillationConfiguration.slkd.degradationRemovalLoss.scaling == .none)  // the SPEC form by default
        let yaml = "distill:\n  feature_scaling: teacher_spread\n"
        let options = try TrainingOptions(yaml: TrainingOptionsTests.officialDeraining + "\n" + yaml, baseFolder: URL(fileURLWithPath: "/x"))
        #expect(options.distillation.featureScaling == .teacherSpread)
        #expect(options.distillation.degradationRemovalLoss.scaling == .teacherSpread)
        #expect(options.distillation.imageReconstructionLoss.scaling == .teacherSpread)
        do {
            _ = try TrainingOptions(yaml: TrainingOptionsTests.officialDeraining + "\ndistill:\n  feature_scaling: zscore\n",
                                    baseFolder: URL(fileURLWithPath: "/x"), file: "opt.yml")
            Issue.record("an unknown scaling was accepted")
        } catch {
            #expect(error.description.contains("'distill.feature_scaling' is 'zscore'; use one of none, teacher_spread"))
        }
    }
}

/// `DistillationConfiguration.setting` and `ComparedMethod.setting`, behind `slkd demo --set`.
@Suite("distill options set over an arm")
struct DistillationSettingTests {
    func message(_ options: [(key: String, value: String)]) -> String {
        do {
            _ = try DistillationConfiguration.slkd.setting(options, source: "--set")
            return "no error"
        } catch { return error.description }
    }

    @Test func valuesAreReadAsInAnOptionsFile() throws {
        var base = DistillationConfiguration.method(.fitNets)
        base.teacherBInput = .degraded  // kept: the settings go over the arm's own configuration
        let c = try base.setting([("fitnets_weight", "0.05"), ("feature_scaling", "teacher_spread"),
                                  ("dckd_encoder_cut", "false"), ("brisque_scales", "1")], source: "--set")
        #expect(c.method == .fitNets && c.teacherBInput == .degraded)
        #expect(c.fitNetsWeight == 0.05 && c.featureScaling == .teacherSpread && c.brisqueScales == 1)
        #expect(c.dckdSettings.encoderCut == false && c.dckdSettings.decoderCut)
    }

    @Test func badSettingsAreTypedErrors() {
        #expect(message([("lamda", "2")]).contains("'distill.lamda' is not a distillation option"))
        #expect(message([("kl_weight", "-1")]).contains("'distill.kl_weight' must be in"))
        #expect(message([("kl_weight", "nan")]).contains("'distill.kl_weight' should be a finite number"))
        #expect(message([("use_degradation_removal", "yes")]).contains("should be true or false"))
        #expect(message([("method", "dfkd")]).contains("'distill.method' cannot be set here"))
        #expect(message([("kl_weight", "0.1"), ("kl_weight", "0.2")]).contains("given twice"))
        #expect(message([("kl_weight", "0.1")]).hasPrefix("no error"))
    }

    @Test func tunedArmsAreRenamedAfterTheirSettings() throws {
        let tuned = try ComparedMethod.fitNets.setting([("fitnets_weight", "0.050"), ("dckd_target", "teacher")], source: "--set")
        #expect(tuned.name == "fitnets_fitnets_weight0.05_dckd_targetteacher")
        #expect(tuned.configuration.fitNetsWeight == 0.05)
        #expect(ComparedMethod.nameComponent("5e-1") == "0.5" && ComparedMethod.nameComponent("3") == "3")
        #expect(try ComparedMethod.outputKD.setting([], source: "--set") == .outputKD)
    }
}
