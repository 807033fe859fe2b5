import Foundation
import Testing
import SLKDDistill
import SLKDModels

/// Five smooth 24×24 clean images with on-the-fly Gaussian noise (a new draw each epoch).
private func noisyDataset(seed: UInt64 = 9) -> SyntheticPairedDataset {
    let clean = syntheticPairs(count: 5, size: 24, seed: 21).enumerated().map { ("image\($0.offset)", $0.element.clean) }
    return SyntheticPairedDataset(cleanImages: clean, degradation: GaussianNoise(sigma: 10...30), seed: seed)
}

private func source(seed: UInt64, prefetch: Int, batchSize: Int = 2) throws -> PairedDatasetBatchSource {
    try PairedDatasetBatchSource(dataset: noisyDataset(), batchSize: batchSize, augmentation: PatchAugmentation(patchSize: 16),
                                 seed: seed, prefetch: prefetch)
}

/// `count` batches as (id, degraded values, clean values).
private func draw(_ s: PairedDatasetBatchSource, _ count: Int) throws -> [(id: Int, degraded: [Float], clean: [Float])] {
    try (0..<count).map { _ in
        let b = try s.nextBatch()
        return (b.id, b.degraded.floats, b.clean.floats)
    }
}

private func same(_ a: [(id: Int, degraded: [Float], clean: [Float])], _ b: [(id: Int, degraded: [Float], clean: [Float])]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.id == $1.id && $0.degraded == $1.degraded && $0.clean == $1.clean }
}

@Suite("Paired dataset as a trainer batch source", .serialized)
struct PairedDatasetBatchSourceTests {
    @Test("a seed fixes the batches: twice the same, with or without the background loader; another seed differs")
    func batchesAreDeterministicGivenASeed() throws {
        // 7 batches of 2 over 5 pairs: three epochs, batches straddling epoch ends.
        let first = try draw(source(seed: 4, prefetch: 3), 7)
        let again = try draw(source(seed: 4, prefetch: 3), 7)
        let inline = try draw(source(seed: 4, prefetch: 0), 7)
        let other = try draw(source(seed: 5, prefetch: 3), 7)
        #expect(same(first, again))
        #expect(same(first, inline))
        #expect(!same(first, other))
        #expect(first.map(\.id) == Array(0..<7))
        #expect(first[0].degraded.count == 2 * 3 * 16 * 16)
        #expect(first[0].degraded != first[0].clean)
    }

    @Test("restore drops prefetched batches and continues from the saved state, also through JSON")
    func restoreDiscardsPrefetchedBatches() throws {
        let s = try source(seed: 8, prefetch: 4)
        _ = try draw(s, 2)
        let saved = s.state
        #expect(saved.batchesServed == 2)
        let expected = try draw(s, 4)
        // Let the loader run ahead before restoring.
        usleep(50_000)
        let json = try JSONEncoder().encode(saved)
        try s.restore(try JSONDecoder().decode(BatchSourceState.self, from: json))
        #expect(s.state == saved)
        #expect(same(try draw(s, 4), expected))

        // A fresh source (a new process) restored to the same state serves the same batches.
        let fresh = try source(seed: 123, prefetch: 2)
        try fresh.restore(saved)
        #expect(same(try draw(fresh, 4), expected))
    }

    @Test("shards of a global batch: the ranks' slices, concatenated, are the one-process batch, for every world size")
    func shardsSliceTheGlobalBatch() throws {
        // 5 pairs, global batch 4: batches straddle epochs, and each rank reads only its pairs.
        let whole = try PairedDatasetBatchSource(dataset: noisyDataset(), batchSize: 4, augmentation: PatchAugmentation(patchSize: 16),
                                                 seed: 6, prefetch: 0)
        let expected = try draw(whole, 6)
        for count in [2, 4] {
            let ranks = try (0..<count).map { rank in
                try PairedDatasetBatchSource(dataset: noisyDataset(), batchSize: 4 / count, augmentation: PatchAugmentation(patchSize: 16),
                                             seed: 6, shard: try DataShard(rank: rank, count: count), prefetch: rank % 2 == 0 ? 0 : 2)
            }
            let slices = try ranks.map { try draw($0, 6) }
            for b in 0..<6 {
                #expect(slices.allSatisfy { $0[b].id == b })
                #expect(slices.flatMap { $0[b].degraded } == expected[b].degraded, "world \(count), batch \(b)")
                #expect(slices.flatMap { $0[b].clean } == expected[b].clean, "world \(count), batch \(b)")
            }
            // Every rank holds the global stream's state, so any rank's checkpoint resumes any world size.
            #expect(ranks.allSatisfy { $0.state == whole.state })
        }
        #expect(throws: BatchSourceError.invalidShard(rank: 2, count: 2)) { try DataShard(rank: 2, count: 2) }
        #expect(throws: BatchSourceError.invalidShard(rank: 0, count: 0)) { try DataShard(rank: 0, count: 0) }
    }

    @Test("a state from another dataset is refused, leaving the source as it was")
    func foreignStatesAreRefused() throws {
        let s = try source(seed: 2, prefetch: 2)
        _ = try draw(s, 1)
        let before = s.state
        let memory = try PairedBatchSampler(dataset: try InMemoryPairedDataset(pairs: syntheticPairs(count: 3, size: 8, seed: 1)),
                                            batchSize: 2, augmentation: PatchAugmentation(patchSize: 8), seed: 1)
        #expect(throws: BatchSourceError.self) { try s.restore(memory.state) }
        var wrongSize = before
        wrongSize.order = Array(0..<7)
        #expect(throws: BatchSourceError.self) { try s.restore(wrongSize) }
        #expect(s.state == before)
        let next = try draw(s, 1)
        #expect(next[0].id == 1)
    }

    /// SLKD on the tiny networks, fed by the data pipeline with its background loader.
    static func trainer(studentSeed: UInt64, steps: Int) throws -> Trainer {
        var g = RandomGenerator(seed: studentSeed)
        let objective = DistillationObjective(student: TinyRestorer(width: 2, seed: studentSeed),
                                              teacherA: TinyRestorer(width: 4, seed: 100), using: &g)
        var configuration = TrainerConfiguration(totalSteps: steps)
        configuration.learningRate = 1e-3
        configuration.seed = 11
        return Trainer(objective: objective, data: try source(seed: 3, prefetch: 3), configuration: configuration,
                       logger: quietLogger)
    }

    @Test("checkpoint after k steps, resume with new objects: bit-identical to the uninterrupted run")
    func trainerResumeIsExactWithTheBackgroundLoader() throws {
        let (n, k) = (7, 3)
        let straight = try Self.trainer(studentSeed: 1, steps: n)
        try straight.run(steps: n)

        let first = try Self.trainer(studentSeed: 1, steps: n)
        try first.run(steps: k)
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("slkd-data-resume-\(ProcessInfo.processInfo.processIdentifier).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try first.saveCheckpoint(to: url)
        // The first trainer's loader has prefetched past step k; those batches must not be lost or reused.
        let resumed = try Self.trainer(studentSeed: 99, steps: n)
        try resumed.loadCheckpoint(from: url)
        #expect(resumed.data.state == first.data.state)
        try resumed.run(steps: n - k)

        let p = TrainerTests.parameters
        #expect(p(resumed) == p(straight))  // bit-identical
        #expect(p(resumed) != p(first))
        #expect(resumed.data.state == straight.data.state)
        #expect(resumed.data.state.batchesServed == n)
        #expect(resumed.generator == straight.generator)
    }

    @Test("profiling records every phase and changes neither the loss nor its gradients")
    func profilingChangesNothing() throws {
        func run(profiling: Bool) throws -> (Double, [Float], DistillationObjective) {
            var g = RandomGenerator(seed: 1)
            let o = DistillationObjective(student: TinyRestorer(width: 2, seed: 1), teacherA: TinyRestorer(width: 4, seed: 100), using: &g)
            o.profiling = profiling
            let batch = try source(seed: 3, prefetch: 0).nextBatch()
            var rng = RandomGenerator(seed: 2)
            let loss = o.loss(for: batch, generator: &rng)
            let weight = o.student.namedParameters().first!.tensor
            return (loss.total.item, loss.total.gradients(wrt: [weight])[0].floats, o)
        }
        let (plain, plainGradient, plainObjective) = try run(profiling: false)
        let (profiled, profiledGradient, o) = try run(profiling: true)
        #expect(plain == profiled)
        #expect(plainGradient == profiledGradient)
        #expect(plainObjective.lastProfile == nil)
        let profile = try #require(o.lastProfile)
        #expect(profile.teacherA > 0 && profile.teacherB > 0 && profile.student > 0 && profile.criterion > 0)
        #expect(!profile.sharedTeacherForward && !profile.teachersCached)
        #expect(o.lastForward?.teacherBDecoder.count == 2)
        o.profiling = false
        #expect(o.lastProfile == nil && o.lastForward == nil)
    }

    @Test("one batched forward of both teachers gives the loss and gradients of two forwards")
    func batchedTeacherForwardsChangeNothing() throws {
        func run(batched: Bool) throws -> (Double, [String: Double], [Float], Int) {
            var g = RandomGenerator(seed: 1)
            let o = DistillationObjective(student: TinyRestorer(width: 2, seed: 1), teacherA: TinyRestorer(width: 4, seed: 100), using: &g)
            o.batchesTeacherForwards = batched
            let batch = try source(seed: 3, prefetch: 0, batchSize: 3).nextBatch()
            var rng = RandomGenerator(seed: 2)
            let loss = o.loss(for: batch, generator: &rng)
            let weights = o.trainableModules.flatMap { $0.module.namedParameters().map(\.tensor) }
            let gradients = loss.total.gradients(wrt: weights).flatMap(\.floats)
            return (loss.total.item, loss.terms, gradients, o.teacherForwardCount)
        }
        let separate = try run(batched: false), batched = try run(batched: true)
        #expect(separate.3 == 2 && batched.3 == 1)
        #expect(batched.0 == separate.0)
        #expect(batched.1 == separate.1)
        #expect(batched.2 == separate.2)
    }

    @Test("teachers forwarded in slices give the loss and gradients of whole-batch forwards (Restormer)",
          arguments: [1, 2])
    func teacherSlicesChangeNothing(slice: Int) throws {
        func run(slice: Int?) throws -> (Double, [String: Double], [Float]) {
            var g = RandomGenerator(seed: 1)
            let teacher = Restormer(.init(dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 2, 2, 4]), using: &g)
            let student = Restormer(.init(dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2]), using: &g)
            let o = DistillationObjective(student: student, teacherA: teacher, using: &g)
            o.teacherSliceSize = slice
            let batch = try source(seed: 3, prefetch: 0, batchSize: 3).nextBatch()
            var rng = RandomGenerator(seed: 2)
            let loss = o.loss(for: batch, generator: &rng)
            let weights = o.trainableModules.flatMap { $0.module.namedParameters().map(\.tensor) }
            return (loss.total.item, loss.terms, loss.total.gradients(wrt: weights).flatMap(\.floats))
        }
        let whole = try run(slice: nil), sliced = try run(slice: slice)
        #expect(sliced.0 == whole.0)
        #expect(sliced.1 == whole.1)
        #expect(sliced.2 == whole.2)
    }

    @Test("a clean patch repeated in a batch is forwarded through teacher B once, with unchanged results")
    func repeatedCleanPatchesAreForwardedOnce() throws {
        let pairs = syntheticPairs(count: 2, size: 16, seed: 5)
        // Samples 0 and 2 share a clean patch (different noise); sample 1 is another image.
        let extra = syntheticPairs(count: 1, size: 16, noise: 0.2, seed: 6)[0].degraded
        let batch = TrainingBatch(degraded: Tensor.stacked([pairs[0].degraded, pairs[1].degraded, extra], axis: 0),
                                  clean: Tensor.stacked([pairs[0].clean, pairs[1].clean, pairs[0].clean], axis: 0), id: 0)
        func run(reuse: Bool) -> (Double, [String: Double], [Float], Int) {
            var g = RandomGenerator(seed: 1)
            let o = DistillationObjective(student: TinyRestorer(width: 2, seed: 1), teacherA: TinyRestorer(width: 4, seed: 100), using: &g)
            o.reusesRepeatedTeacherBInputs = reuse
            var rng = RandomGenerator(seed: 2)
            let loss = o.loss(for: batch, generator: &rng)
            let weights = o.trainableModules.flatMap { $0.module.namedParameters().map(\.tensor) }
            return (loss.total.item, loss.terms, loss.total.gradients(wrt: weights).flatMap(\.floats), o.teacherSamplesForwarded)
        }
        let plain = run(reuse: false), reused = run(reuse: true)
        #expect(plain.3 == 6)  // 3 for A, 3 for B
        #expect(reused.3 == 5)  // B forwards the two distinct clean patches
        #expect(reused.0 == plain.0)
        #expect(reused.1 == plain.1)
        #expect(reused.2 == plain.2)
    }
}
