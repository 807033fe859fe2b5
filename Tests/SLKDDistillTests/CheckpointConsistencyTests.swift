import Foundation
import SLKDDistill
import Testing

/// A well-formed checkpoint whose step, counters, sampler or schedule disagree with the run that
/// resumes it is refused with the reason, and the trainer is left unchanged.
@Suite("Checkpoint consistency on resume", .serialized)
struct CheckpointConsistencyTests {
    /// A checkpoint after 3 of 6 steps, with its training state edited by `edit`.
    static func tamperedCheckpoint(_ name: String, _ edit: (inout TrainingState) -> Void) throws -> URL {
        let trainer = try TrainerTests.distillationTrainer(studentSeed: 1)
        try trainer.run(steps: 3)
        let url = TrainerTests.temporaryURL("consistency-\(name)")
        try trainer.saveCheckpoint(to: url)
        let contents = try SafeTensors.read(from: url)
        let key = "slkd.training"
        var state = try JSONDecoder().decode(TrainingState.self, from: Data(try #require(contents.metadata[key]).utf8))
        edit(&state)
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try SafeTensors.write(contents.names.map { ($0, contents.tensors[$0]!) }, metadata: [key: json], to: url)
        return url
    }

    /// The reason a fresh 6-step trainer gives for refusing the edited checkpoint (nil: accepted).
    static func refusal(_ name: String, steps: Int = 6, _ edit: (inout TrainingState) -> Void) throws -> String? {
        let url = try tamperedCheckpoint(name, edit)
        defer { try? FileManager.default.removeItem(at: url) }
        let resumed = try TrainerTests.distillationTrainer(studentSeed: 99, steps: steps)
        do {
            try resumed.loadCheckpoint(from: url)
            return nil
        } catch TrainingError.checkpoint(let path, let reason) {
            #expect(path == url.path)
            #expect(resumed.step == 0, "a refused checkpoint changes nothing")
            return reason
        }
    }

    @Test func anUntouchedCheckpointResumes() throws {
        #expect(try Self.refusal("intact") { _ in } == nil)
    }

    @Test func impossibleStepsAreRefused() throws {
        #expect(try Self.refusal("huge") { $0.step = 1 << 62 } == "step 4611686018427387904 is past train.total_iter (6)")
        #expect(try Self.refusal("negative") { $0.step = -1 } == "step -1 is negative")
        #expect(try Self.refusal("past") { $0.step = 7 } == "step 7 is past train.total_iter (6)")
    }

    @Test func countersMustFollowTheStep() throws {
        // The file reader (TrainingCheckpointFile) already bounds both counters by the step.
        let skipped = try Self.refusal("skipped") { $0.consecutiveNonFiniteSteps = -2 }
        #expect(skipped == "consecutiveNonFiniteSteps -2 is outside 0...3 (the step)", "\(skipped ?? "nil")")
        let lastGood = try Self.refusal("lastgood") { $0.lastGoodStep = 40 }
        #expect(lastGood == "lastGoodStep 40 is outside 0..<3 (the step)", "\(lastGood ?? "nil")")
        // Within those bounds, the semantic check ties the last good step to the skipped run.
        let unrelated = try Self.refusal("lastgood-unrelated") { $0.lastGoodStep = 0 }
        #expect(unrelated == "the last good step 0 does not follow from step 3 with 0 skipped steps in a row", "\(unrelated ?? "nil")")
        // The optimizer made 3 updates; a state claiming 2 steps cannot have made them.
        #expect(try Self.refusal("fewer") { $0.step = 2; $0.lastGoodStep = 1; $0.data.batchesServed = 2 }
                == "the optimizer made 3 updates, but only 2 steps were taken")
    }

    @Test func theSamplerPositionMustMatch() throws {
        #expect(try Self.refusal("sampler") { $0.data.batchesServed = 10 }
                == "the sampler served 10 batches, but 3 steps were taken (one batch each)")
        let epoch = try Self.refusal("epoch") { $0.data.epoch = -1 }
        #expect(epoch?.hasPrefix("the sampler's epoch -1, position ") == true, "\(epoch ?? "nil")")
        #expect(epoch?.hasSuffix(" and batch count 3 must not be negative") == true)
    }

    @Test func theScheduleMustBeTheOptions() throws {
        #expect(try Self.refusal("lr") { $0.configuration.learningRate = 0.5 }
                == "its learning rate 0.5 differs from the options' 0.001 (train.optim_g.lr)")
        #expect(try Self.refusal("total", steps: 8) { _ in }
                == "it was written for 6 steps, the options give 8 (train.total_iter), which changes the cosine schedule; "
                + "give train.scheduler.periods to change the length")
        #expect(try Self.refusal("minimum") { $0.configuration.minimumLearningRate = 0.01 }
                == "its learning-rate schedule differs from the options' (train.scheduler)")
    }
}
