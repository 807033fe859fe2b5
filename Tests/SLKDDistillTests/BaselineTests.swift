import Testing
import SLKDDistill

@Suite("Baselines through the distillation machinery")
struct BaselineTests {
    @Test func studentAloneIsL1ToTheGroundTruthWithoutTeachers() {
        let o = MethodObjectiveTests.objective(.method(.studentAlone))
        let b = MethodObjectiveTests.batch()
        var g = RandomGenerator(seed: 0)
        let step = o.loss(for: b, generator: &g)
        let s = withoutGradients { o.student(b.degraded) }
        #expect(step.terms.keys.sorted() == ["pixel"])
        #expect(Swift.abs(step.total.item - (s - b.clean).abs().mean().item) < 1e-12)
        #expect(o.teacherForwardCount == 0)
        #expect(o.trainableModules.map(\.key) == ["student"])
    }

    @Test func outputKDIsL1ToTeacherA() {
        let o = MethodObjectiveTests.objective(.method(.outputKD))
        let b = MethodObjectiveTests.batch()
        var g = RandomGenerator(seed: 0)
        let step = o.loss(for: b, generator: &g)
        let s = withoutGradients { o.student(b.degraded) }, a = withoutGradients { o.teacherA(b.degraded) }
        #expect(Swift.abs(step.total.item - (s - a).abs().mean().item) < 1e-12)
        #expect(o.teacherForwardCount == 1)
    }

    @Test func fitNetsIsL1PlusPlainL2OnSCMMappedTaps() {
        let o = MethodObjectiveTests.objective(.method(.fitNets))
        let b = MethodObjectiveTests.batch()
        var g = RandomGenerator(seed: 0)
        let step = o.loss(for: b, generator: &g)
        #expect(o.trainableModules.map(\.key) == ["student", "scm"])
        let s = withoutGradients { (o.student as! TinyRestorer).forwardWithTaps(b.degraded) }
        let a = withoutGradients { (o.teacherA as! TinyRestorer).forwardWithTaps(b.degraded) }
        let scm = o.scm!
        // Mean squared error by hand over the four SCM-mapped pairs (encoder then decoder slots).
        var fit = 0.0
        for (k, (st, tt)) in zip(s.encoder + s.decoder, a.encoder + a.decoder).enumerated() {
            let mapped = withoutGradients { scm.mapStudent(st, tap: k, size: (tt.shape[2], tt.shape[3])) }.doubles
            let t = tt.doubles
            fit += zip(mapped, t).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(t.count)
        }
        fit /= 4
        #expect(Swift.abs(step.terms["fit"]! - fit) < 1e-12 * fit)
        let pixel = (s.image - b.clean).abs().mean().item
        #expect(Swift.abs(step.total.item - (pixel + 0.1 * fit)) < 1e-12)
    }

    @Test func supervisedTeacherTrainingUsesL1OrCharbonnier() {
        let model = TinyRestorer(width: 2, dtype: .float64, seed: 4)
        let b = MethodObjectiveTests.batch()
        var g = RandomGenerator(seed: 0)
        let y = withoutGradients { model(b.degraded) }
        let l1 = SupervisedObjective(model: model).loss(for: b, generator: &g).total.item
        #expect(Swift.abs(l1 - (y - b.clean).abs().mean().item) < 1e-12)
        let ch = SupervisedObjective(model: model, pixelLoss: .charbonnier(epsilon: 1e-3)).loss(for: b, generator: &g).total.item
        let expected = ((y - b.clean).squared() + 1e-6).sqrt().mean().item
        #expect(Swift.abs(ch - expected) < 1e-12)
    }
}
