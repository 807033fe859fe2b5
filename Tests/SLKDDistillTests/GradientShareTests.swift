import Foundation
import Logging
import Testing
import SLKDDistill

/// `Trainer.gradientShareInterval`: each term's gradient norm on the student, checked against the
/// gradient of an objective configured with that term alone.
@Suite("Per-term gradient shares")
struct GradientShareTests {
    /// The student's gradient norm of `configuration`'s whole loss on the test batch, from a fresh
    /// objective (the same seeds, so the same parameters).
    static func studentGradientNorm(_ configuration: DistillationConfiguration) -> Double {
        let objective = MethodObjectiveTests.objective(configuration)
        var g = RandomGenerator(seed: 0)
        let loss = objective.loss(for: MethodObjectiveTests.batch(), generator: &g)
        return loss.total.backward().globalNorm(of: objective.student)
    }

    @Test("grad_norm.<term> equals the student's gradient norm of that term alone; shares sum to 1; off-interval steps carry none")
    func normsMatchSingleTermObjectives() throws {
        let objective = MethodObjectiveTests.objective()
        let batch = MethodObjectiveTests.batch()
        let source = SameBatch(batch: batch)
        var configuration = TrainerConfiguration(totalSteps: 3)
        configuration.seed = 0
        let trainer = Trainer(objective: objective, data: source, configuration: configuration, logger: quietLogger)
        trainer.gradientShareInterval = 2
        let first = try trainer.takeStep()
        let names = ["pixel", "kl", "nc", "et"]
        #expect(Set(first.metrics.keys.filter { $0.hasPrefix("grad_norm.") }) == Set(names.map { "grad_norm." + $0 }))
        let shares = names.map { first.metrics["grad_share." + $0]! }
        #expect(abs(shares.reduce(0, +) - 1) < 1e-12)

        var pixelOnly = DistillationConfiguration.slkd
        pixelOnly.klWeight = 0
        pixelOnly.useDegradationRemoval = false
        pixelOnly.useImageReconstruction = false
        var klOnly = pixelOnly
        klOnly.pixelWeight = 0
        klOnly.klWeight = DistillationConfiguration.slkd.klWeight
        let expectedPixel = Self.studentGradientNorm(pixelOnly), expectedKL = Self.studentGradientNorm(klOnly)
        #expect(abs(first.metrics["grad_norm.pixel"]! - expectedPixel) <= 1e-12 * expectedPixel)
        #expect(abs(first.metrics["grad_norm.kl"]! - expectedKL) <= 1e-12 * expectedKL)

        let second = try trainer.takeStep()
        #expect(!second.metrics.keys.contains { $0.hasPrefix("grad_") })
        #expect(try trainer.takeStep().metrics["grad_norm.pixel"] != nil)
    }
}

/// The same float64 batch every step (the sampler serves float32 patches; these networks are float64).
private struct SameBatch: BatchSource {
    var batch: TrainingBatch
    var state = BatchSourceState(generator: RandomGenerator(seed: 0))
    mutating func nextBatch() throws -> TrainingBatch {
        var next = batch
        next.id = state.batchesServed
        state.batchesServed += 1
        return next
    }
    mutating func restore(_ state: BatchSourceState) throws { self.state = state }
}
