import Foundation
import Testing
import SLKDDistill

/// An objective that wraps another and turns its loss into NaN from step `failFrom` on.
final class FailingObjective: TrainingObjective {
    let inner: any TrainingObjective
    let failFrom: Int
    var calls = 0
    init(_ inner: any TrainingObjective, failFrom: Int) { self.inner = inner; self.failFrom = failFrom }
    var trainableModules: [(key: String, module: Module)] { inner.trainableModules }
    func loss(for batch: TrainingBatch, generator: inout RandomGenerator) -> StepLoss {
        var l = inner.loss(for: batch, generator: &generator)
        if calls >= failFrom { l.total = l.total * Double.nan }
        calls += 1
        return l
    }
    func restore(_ degraded: Tensor) -> Tensor { inner.restore(degraded) }
}

@Suite("Trainer", .serialized)
struct TrainerTests {
    static func temporaryURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("slkd-trainer-\(ProcessInfo.processInfo.processIdentifier)-\(name).safetensors")
    }

    /// A fresh SLKD set-up: student and SCM from `studentSeed` (a resumed run must overwrite them),
    /// teachers fixed, flips and shuffling on so the data state matters.
    static func distillationTrainer(studentSeed: UInt64, steps: Int = 6) throws -> Trainer {
        var g = RandomGenerator(seed: studentSeed)
        let objective = DistillationObjective(student: TinyRestorer(width: 2, seed: studentSeed),
                                              teacherA: TinyRestorer(width: 4, seed: 100), using: &g)
        let source = try inMemorySource(pairs: syntheticPairs(count: 5, size: 16, seed: 7), batchSize: 2, randomFlips: true, seed: 3)
        var configuration = TrainerConfiguration(totalSteps: steps)
        configuration.learningRate = 1e-3
        configuration.seed = 11
        return Trainer(objective: objective, data: source, configuration: configuration, logger: quietLogger)
    }

    static func parameters(_ t: Trainer) -> [String: [Float]] {
        t.parameters.stateDictionary().mapValues { $0.floats }
    }

    @Test func resumingFromACheckpointReproducesTheUninterruptedRunExactly() throws {
        let straight = try Self.distillationTrainer(studentSeed: 1)
        try straight.run(steps: 6)

        let first = try Self.distillationTrainer(studentSeed: 1)
        try first.run(steps: 3)
        let url = Self.temporaryURL("resume")
        defer { try? FileManager.default.removeItem(at: url) }
        try first.saveCheckpoint(to: url)

        let resumed = try Self.distillationTrainer(studentSeed: 99)  // different initial weights
        #expect(Self.parameters(resumed) != Self.parameters(first))
        try resumed.loadCheckpoint(from: url)
        #expect(resumed.step == 3)
        #expect(Self.parameters(resumed) == Self.parameters(first))
        try resumed.run(steps: 3)

        #expect(resumed.step == 6)
        #expect(Self.parameters(resumed) == Self.parameters(straight))  // bit-identical
        #expect(resumed.optimizer.step == straight.optimizer.step)
        #expect(resumed.data.state == straight.data.state)
        #expect(resumed.generator == straight.generator)
    }

    @Test func learningRateFollowsCosineAnnealingOverTheRun() throws {
        let t = try Self.distillationTrainer(studentSeed: 2, steps: 4)
        var rates: [Double] = []
        for _ in 0..<4 { rates.append(try t.takeStep().metrics["learning_rate"]!) }
        // η(t) = 1e-6 + (1e-3 − 1e-6)(1 + cos(πt/4))/2.
        let expected = (0..<4).map { 1e-6 + (1e-3 - 1e-6) * (1 + cos(Double.pi * Double($0) / 4)) / 2 }
        for (r, e) in zip(rates, expected) { #expect(Swift.abs(r - e) < 1e-15) }
        #expect(TrainerConfiguration(totalSteps: 10).schedule.learningRate(at: 10) == 1e-6)
        #expect(TrainerConfiguration(totalSteps: 10).learningRate == 1e-4)
        #expect(TrainerConfiguration(totalSteps: 10).weightDecay == 1e-4)
    }

    @Test func nonFiniteStepsAreSkippedThenStopWithTheLastGoodCheckpointIntact() throws {
        let model = TinyRestorer(width: 2, seed: 5)
        let objective = FailingObjective(SupervisedObjective(model: model), failFrom: 3)
        let source = try inMemorySource(pairs: syntheticPairs(count: 4, size: 8, seed: 1), batchSize: 2, seed: 1)
        var configuration = TrainerConfiguration(totalSteps: 20)
        configuration.maxConsecutiveNonFiniteSteps = 3
        configuration.learningRate = 1e-3
        let trainer = Trainer(objective: objective, data: source, configuration: configuration, logger: quietLogger)
        let url = Self.temporaryURL("nan")
        defer { try? FileManager.default.removeItem(at: url) }
        let checkpoints = PeriodicCheckpoint(every: 1, url: url)

        final class Recorder: TrainingCallback {
            var results: [StepResult] = []
            func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
                results.append(result)
                return .continue
            }
        }
        let recorder = Recorder()
        try trainer.run(steps: 3, callbacks: [checkpoints, recorder])
        let afterGood = Self.parameters(trainer)
        do {
            try trainer.run(callbacks: [checkpoints, recorder])
            Issue.record("the run should have stopped")
        } catch TrainingError.nonFinite(let step, let consecutive, let lastGood) {
            #expect(step == 5 && consecutive == 3 && lastGood == 2)
        }
        let results = recorder.results
        #expect(results.map(\.skipped) == [false, false, false, true, true])  // the third skip throws
        #expect(!results[3].loss.isFinite)
        #expect(Self.parameters(trainer) == afterGood)  // skipped steps change nothing
        #expect(checkpoints.lastWrittenStep == 3)

        let fresh = Trainer(objective: SupervisedObjective(model: TinyRestorer(width: 2, seed: 77)),
                            data: try inMemorySource(pairs: syntheticPairs(count: 4, size: 8, seed: 1), batchSize: 2, seed: 1),
                            configuration: configuration, logger: quietLogger)
        try fresh.loadCheckpoint(from: url)
        #expect(fresh.step == 3 && fresh.lastGoodStep == 2)
        #expect(Self.parameters(fresh) == afterGood)
    }

    @Test func callbacksCanStopEarlyAndEvaluationResultsAreReported() throws {
        let t = try Self.distillationTrainer(studentSeed: 3, steps: 50)
        t.evaluation = .init(interval: 2) { trainer in
            let b = syntheticPairs(count: 1, size: 16, seed: 9)[0]
            let restored = trainer.objective.restore(b.degraded.unsqueezed(axis: 0))
            return ["psnr": Trainer.psnr(restored, b.clean.unsqueezed(axis: 0)), "constant": 1]
        }
        // "constant" never improves: stop after 2 evaluations without improvement (steps 2, 4, 6).
        let stop = EarlyStopping(monitor: "eval.constant", maximize: true, patience: 2)
        let summary = try t.run(callbacks: [stop, LoggingCallback(every: 1)])
        #expect(summary.stepsTaken == 6)
        #expect(summary.stopReason != .completed)
        #expect(summary.lastResult!.metrics["eval.psnr"]!.isFinite)
        #expect(summary.lastResult!.metrics["psnr"]!.isFinite)
    }

    @Test func aCheckpointForOtherModulesIsRejectedWithoutChangingAnything() throws {
        let t = try Self.distillationTrainer(studentSeed: 4)
        let url = Self.temporaryURL("mismatch")
        defer { try? FileManager.default.removeItem(at: url) }
        try t.saveCheckpoint(to: url)
        let other = Trainer(objective: SupervisedObjective(model: TinyRestorer(width: 2, seed: 5)),
                            data: try inMemorySource(pairs: syntheticPairs(count: 4, size: 8, seed: 1), batchSize: 2),
                            configuration: TrainerConfiguration(totalSteps: 2), logger: quietLogger)
        let before = Self.parameters(other)
        #expect(throws: TrainingError.self) { try other.loadCheckpoint(from: url) }
        #expect(Self.parameters(other) == before)
        #expect(other.step == 0)
    }

    @Test func teacherPretrainingReducesTheLoss() throws {
        let model = TinyRestorer(width: 4, seed: 6)
        let source = try inMemorySource(pairs: syntheticPairs(count: 4, size: 16, seed: 2), batchSize: 4)
        var configuration = TrainerConfiguration(totalSteps: 40)
        configuration.learningRate = 3e-3
        let trainer = Trainer(objective: SupervisedObjective(model: model, pixelLoss: .charbonnier(epsilon: 1e-3)),
                              data: source, configuration: configuration, logger: quietLogger)
        var losses: [Double] = []
        for _ in 0..<40 { losses.append(try trainer.takeStep().loss) }
        let early: Double = losses.prefix(5).reduce(0, +), late: Double = losses.suffix(5).reduce(0, +)
        #expect(late < 0.85 * early, "loss \(early / 5) → \(late / 5)")
    }
}
