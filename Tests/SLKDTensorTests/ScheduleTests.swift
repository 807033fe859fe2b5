import Foundation
import Testing
import SLKDTensor

@Suite("Learning-rate schedules")
struct ScheduleTests {
    @Test func cosineAnnealingHitsItsFloorAndRisesAfter() {
        let s = CosineAnnealing(base: 0.1, period: 50, minimum: 0.01)
        #expect(s.learningRate(at: 0) == 0.1)
        #expect(Swift.abs(s.learningRate(at: 25) - 0.055) < 1e-15)
        #expect(Swift.abs(s.learningRate(at: 50) - 0.01) < 1e-15)
        #expect(Swift.abs(s.learningRate(at: 75) - 0.055) < 1e-15)  // PyTorch keeps following the cosine
    }

    @Test func basicSRRestartFollowsItsPeriodBoundaries() {
        // BasicSR: period i covers (c[i-1], c[i]], so the last step of a period reaches the floor
        // and the restart (at weight w) comes one step later.
        let s = CosineAnnealingRestart(base: 1, periods: [10, 20], restartWeights: [1, 0.5], minimum: 0.1)
        #expect(s.learningRate(at: 0) == 1)
        #expect(Swift.abs(s.learningRate(at: 10) - 0.1) < 1e-15)
        let expected11 = 0.1 + 0.5 * 0.5 * 0.9 * (1 + cos(Double.pi / 20))
        #expect(Swift.abs(s.learningRate(at: 11) - expected11) < 1e-15)
        #expect(Swift.abs(s.learningRate(at: 30) - 0.1) < 1e-15)
        let cyclic = CosineAnnealingRestart(base: 1, periods: [10, 20], restartWeights: [1, 1], minima: [0.5, 0.2])
        #expect(Swift.abs(cyclic.learningRate(at: 10) - 0.5) < 1e-15 && Swift.abs(cyclic.learningRate(at: 30) - 0.2) < 1e-15)
    }

    @Test func linearWarmupThenHandsOver() {
        let s = LinearWarmup(base: 1, steps: 4, startFactor: 0.2, then: ConstantLearningRate(0.7))
        #expect([0, 1, 2, 3, 4, 9].map { s.learningRate(at: $0) } == [0.2, 0.4, 0.6000000000000001, 0.8, 0.7, 0.7])
    }

    @Test("schedules reproduce PyTorch's learning rates", arguments: ["sgd_cosine", "adam_restart", "adamw_warmup_clip"])
    func matchPyTorch(name: String) throws {
        let ref = try #require(OptimizerTests.reference)
        let run = try #require(ref.runs.first { $0.name == name })
        let schedule = run.makeSchedule()
        for (step, lr) in run.lrs.enumerated() {
            #expect(Swift.abs(schedule.learningRate(at: step) - lr) <= 1e-12 * lr, "\(name) step \(step)")
        }
    }
}
