import Testing
import SLKDModels
import SLKDDistill

/// A student written from scratch, as a user would: a few convolutions, its own tap names,
/// nothing shared with the teacher's code. Two encoder and two decoder taps, paired with the
/// teacher's by index; their widths and sizes differ from the teacher's (the SCM bridges them).
final class UserStudent: Module, RestorationModel {
    let inConv: Conv2d, mid: Conv2d, outConv: Conv2d

    init(seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        inConv = Conv2d(3, 3, kernelSize: 3, padding: 1, using: &g)
        mid = Conv2d(3, 3, kernelSize: 3, stride: 2, padding: 1, using: &g)
        outConv = Conv2d(3, 3, kernelSize: 3, padding: 1, using: &g)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { forward(x, features: []).image }

    func forward(_ x: Tensor, features: Set<String>) -> ModelOutput {
        var r = FeatureRecorder(features)
        let a = r.record("stem", inConv(x).leakyReLU(slope: 0.2))
        let b = r.record("bottleneck", mid(a).leakyReLU(slope: 0.2))
        let c = r.record("upsampled", b.bilinearResized(to: (x.shape[2], x.shape[3]), alignCorners: false) + a)
        return ModelOutput(image: outConv(r.record("fused", c)) + x, features: r.features)
    }

    var featureNames: [String] { ["stem", "bottleneck", "upsampled", "fused"] }
    var encoderTaps: [String] { ["stem", "bottleneck"] }
    var decoderTaps: [String] { ["upsampled", "fused"] }
    var sizeMultiple: Int { 2 }
    var inputChannels: Int { 3 }
}

@Suite("Distilling a custom student")
struct MethodCustomStudentTests {
    @Test func aUserStudentDistillsFromATinyTeacherWithTheSLKDLoss() throws {
        // A teacher, briefly pre-trained so that its outputs are worth imitating.
        let pairs = syntheticPairs(count: 4, size: 16, seed: 12)
        let teacher = TinyRestorer(width: 6, seed: 13)
        var teacherRun = TrainerConfiguration(totalSteps: 30)
        teacherRun.learningRate = 3e-3
        try Trainer(objective: SupervisedObjective(model: teacher), data: try inMemorySource(pairs: pairs, batchSize: 4),
                    configuration: teacherRun, logger: quietLogger).run()

        // The user's part: student, objective, trainer.
        var g = RandomGenerator(seed: 14)
        let student = UserStudent(seed: 15)
        let objective = DistillationObjective(student: student, teacherA: teacher, configuration: .slkd, using: &g)
        var run = TrainerConfiguration(totalSteps: 25)
        run.learningRate = 3e-3
        let trainer = Trainer(objective: objective, data: try inMemorySource(pairs: pairs, batchSize: 4),
                              configuration: run, logger: quietLogger)
        var losses: [StepResult] = []
        for _ in 0..<25 { losses.append(try trainer.takeStep()) }

        #expect(objective.scm!.studentChannels == [3, 3, 3, 3] && objective.scm!.teacherChannels == [6, 12, 6, 6])
        #expect(losses.allSatisfy { !$0.skipped && Set($0.terms.keys) == ["pixel", "kl", "nc", "et"] })
        let early = losses.prefix(5).map(\.loss).reduce(0, +), late = losses.suffix(5).map(\.loss).reduce(0, +)
        #expect(late < 0.8 * early, "loss \(early / 5) → \(late / 5)")
        #expect(losses.last!.terms["pixel"]! < losses.first!.terms["pixel"]!)
    }
}
