import Testing
import SLKDDistill

@Suite("SLKD objective")
struct MethodObjectiveTests {
    static func batch(id: Int = 0, dtype: DType = .float64) -> TrainingBatch {
        let pairs = syntheticPairs(count: 2, size: 16, dtype: dtype, seed: 5)
        return TrainingBatch(degraded: Tensor.stacked(pairs.map(\.degraded)), clean: Tensor.stacked(pairs.map(\.clean)), id: id)
    }

    static func objective(_ configuration: DistillationConfiguration = .slkd, teacherB: TinyRestorer? = nil) -> DistillationObjective {
        var g = RandomGenerator(seed: 1)
        return DistillationObjective(student: TinyRestorer(width: 2, dtype: .float64, seed: 2),
                                     teacherA: TinyRestorer(width: 4, dtype: .float64, seed: 3), teacherB: teacherB,
                                     configuration: configuration, using: &g)
    }

    @Test func totalIsTheWeightedSumOfTheFourTerms() {
        let o = Self.objective()
        var g = RandomGenerator(seed: 0)
        let step = o.loss(for: Self.batch(), generator: &g)
        #expect(Set(step.terms.keys) == ["pixel", "kl", "nc", "et"])
        let t = step.terms
        let expected = t["pixel"]! + 0.5 * t["kl"]! + 0.1 * (t["nc"]! + t["et"]!)
        #expect(Swift.abs(step.total.item - expected) <= 1e-12 * expected)
        #expect(t.values.allSatisfy { $0.isFinite && $0 > 0 })
    }

    @Test func termsEqualTheirDefinitionsComputedIndependently() {
        let o = Self.objective()
        let b = Self.batch()
        var g = RandomGenerator(seed: 0)
        let terms = o.loss(for: b, generator: &g).terms
        let student = o.student as! TinyRestorer, teacher = o.teacherA as! TinyRestorer
        let s = withoutGradients { student.forwardWithTaps(b.degraded) }
        let a = withoutGradients { teacher.forwardWithTaps(b.degraded) }
        let bClean = withoutGradients { teacher.forwardWithTaps(b.clean) }  // teacher B = A's weights, clean input
        #expect(Swift.abs(terms["pixel"]! - (s.image - bClean.image).abs().mean().item) < 1e-12)
        #expect(Swift.abs(terms["kl"]! - ChannelKLDivergence()(student: s.image, teacher: a.image).item) < 1e-12)
        let scm = o.scm!
        let enc = withoutGradients { scm(student: s.encoder, teacher: a.encoder) }
        let dec = withoutGradients { scm(student: s.decoder, teacher: bClean.decoder, offset: 2) }
        #expect(Swift.abs(terms["nc"]! - DegradationRemovalLoss()(student: enc.student, teacher: enc.teacher).item) < 1e-12)
        #expect(Swift.abs(terms["et"]! - ImageReconstructionLoss()(student: dec.student, teacher: dec.teacher).item) < 1e-12)
    }

    @Test func teachersRunOncePerBatchAndShareAForwardWhenTheInputsAgree() {
        var g = RandomGenerator(seed: 0)
        let o = Self.objective()
        _ = o.loss(for: Self.batch(id: 0), generator: &g)
        #expect(o.teacherForwardCount == 2)  // A on degraded, B on clean
        _ = o.loss(for: Self.batch(id: 0), generator: &g)
        #expect(o.teacherForwardCount == 2)  // same batch: cached
        _ = o.loss(for: Self.batch(id: 1), generator: &g)
        #expect(o.teacherForwardCount == 4)

        var degradedB = DistillationConfiguration.slkd
        degradedB.teacherBInput = .degraded
        let shared = Self.objective(degradedB)
        _ = shared.loss(for: Self.batch(id: 0), generator: &g)
        #expect(shared.teacherForwardCount == 1)
        // A separate teacher B runs on its own.
        let separate = Self.objective(degradedB, teacherB: TinyRestorer(width: 4, dtype: .float64, seed: 8))
        _ = separate.loss(for: Self.batch(id: 0), generator: &g)
        #expect(separate.teacherForwardCount == 2)
    }

    @Test func ablationSwitchesChangeWhatIsComputed() {
        var g = RandomGenerator(seed: 0)
        let b = Self.batch()
        var c = DistillationConfiguration.slkd
        c.useDegradationRemoval = false
        #expect(Set(Self.objective(c).loss(for: b, generator: &g).terms.keys) == ["pixel", "kl", "et"])
        c.useImageReconstruction = false
        let noFeatures = Self.objective(c)
        #expect(Set(noFeatures.loss(for: b, generator: &g).terms.keys) == ["pixel", "kl"])
        #expect(noFeatures.scm == nil && noFeatures.trainableModules.map(\.key) == ["student"])

        // L1 to the ground truth instead of teacher B.
        var gt = DistillationConfiguration.slkd
        gt.pixelTarget = .groundTruth
        let o = Self.objective(gt)
        let pixel = o.loss(for: b, generator: &g).terms["pixel"]!
        let s = withoutGradients { o.student(b.degraded) }
        #expect(Swift.abs(pixel - (s - b.clean).abs().mean().item) < 1e-12)

        // Teacher B on the degraded input: the pixel target is A(x).
        var deg = DistillationConfiguration.slkd
        deg.teacherBInput = .degraded
        let od = Self.objective(deg)
        let pd = od.loss(for: b, generator: &g).terms["pixel"]!
        let a = withoutGradients { od.teacherA(b.degraded) }
        let sd = withoutGradients { od.student(b.degraded) }
        #expect(Swift.abs(pd - (sd - a).abs().mean().item) < 1e-12)

        // Custom weights.
        var w = DistillationConfiguration.slkd
        (w.pixelWeight, w.klWeight, w.degradationRemovalWeight, w.reconstructionWeight) = (2, 0.25, 0.3, 0.7)
        let step = Self.objective(w).loss(for: b, generator: &g)
        let t = step.terms
        let expected = 2 * t["pixel"]! + 0.25 * t["kl"]! + 0.3 * t["nc"]! + 0.7 * t["et"]!
        #expect(Swift.abs(step.total.item - expected) <= 1e-12 * expected)
    }

    @Test func gradientsReachStudentAndSCMButNotTheTeachers() {
        let o = Self.objective()
        var g = RandomGenerator(seed: 0)
        let grads = o.loss(for: Self.batch(), generator: &g).total.backward()
        for (_, p) in o.student.trainableParameters() { #expect(grads[p] != nil) }
        for (_, p) in o.scm!.trainableParameters() { #expect(grads[p] != nil) }
        #expect(o.teacherA.trainableParameters().isEmpty)
        #expect(!o.teacherA.isTraining)
    }

    @Test func commonWidthSCMModeTrainsOnlyTheStudentSide() {
        var c = DistillationConfiguration.slkd
        c.scmMode = .commonWidth(3)
        let o = Self.objective(c)
        var g = RandomGenerator(seed: 0)
        let step = o.loss(for: Self.batch(), generator: &g)
        #expect(step.total.item.isFinite)
        #expect(o.scm!.trainableParameters().allSatisfy { $0.key.hasPrefix("student.") })
        #expect(o.scm!.teacher.count == 4)
    }
}
