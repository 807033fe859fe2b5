import Foundation
import Testing
import SLKDDistill

/// The patch the transform describes, built with tensor view ops (narrow, flip, transpose) —
/// a second implementation to check `PatchTransform` against.
private func referencePatch(_ image: Tensor, _ t: PatchTransform, size p: Int) -> Tensor {
    var x = image.narrowed(axis: 1, start: t.top, length: p).narrowed(axis: 2, start: t.left, length: p)
    if t.horizontalFlip { x = x.flipped(axes: [2]) }
    if t.verticalFlip { x = x.flipped(axes: [1]) }
    // np.rot90 on (H, W): out[y][x] = in[x][p-1-y] = flip(transpose(in), H).
    for _ in 0..<t.quarterTurns { x = x.transposed(1, 2).flipped(axes: [1]) }
    return x.contiguous()
}

/// Sample `b` of a `B×C×P×P` batch tensor, as `C×P×P`.
private func sample(_ batch: Tensor, _ b: Int) -> Tensor {
    batch.narrowed(axis: 0, start: b, length: 1).squeezed(axis: 0).contiguous()
}

/// Coordinate images of assorted sizes (clean) with their negatives (degraded), in memory.
private struct CodedPairs: PairedDataset {
    var sizes: [(Int, Int)]
    /// Index whose pair throws, to test error propagation.
    var failingIndex: Int? = nil

    var count: Int { sizes.count }
    func name(at index: Int) -> String { "coded\(index).png" }
    func pair(at index: Int, epoch: Int) throws(DatasetError) -> ImagePair {
        if index == failingIndex { throw DatasetError(.unreadableImage(path: name(at: index), message: "test failure")) }
        let (h, w) = sizes[index]
        let clean = coordinateImage(height: h, width: w, seed: index)
        return ImagePair(name: name(at: index), degraded: negative(clean), clean: clean)
    }
}

private let mixedSizes: [(Int, Int)] = [(20, 24), (17, 30), (16, 16), (25, 19), (31, 22), (18, 27), (21, 21)]

private func sampler(seed: UInt64, batchSize: Int = 3, patch: Int = 8,
                     dataset: any PairedDataset = CodedPairs(sizes: mixedSizes)) throws -> PairedBatchSampler {
    try PairedBatchSampler(dataset: dataset, batchSize: batchSize, augmentation: PatchAugmentation(patchSize: patch), seed: seed)
}

private func sameBatch(_ a: TrainingBatch, _ b: TrainingBatch) -> Bool {
    a.indices == b.indices && a.epochs == b.epochs && a.transforms == b.transforms
        && a.degraded.floats == b.degraded.floats && a.clean.floats == b.clean.floats
}

@Suite("Patch sampling")
struct LoaderPatchTests {
    @Test("every flip/turn combination equals narrow + flip + transpose of the image")
    func transformMatchesViewOps() {
        let image = coordinateImage(height: 13, width: 17)
        for k in 0..<16 {
            let t = PatchTransform(top: 2 + k % 3, left: 5 - k % 4, horizontalFlip: k & 1 == 1, verticalFlip: k & 2 == 2,
                                   quarterTurns: k / 4)
            #expect(t.apply(to: image, size: 7).floats == referencePatch(image, t, size: 7).floats, "transform \(t)")
        }
    }

    @Test("images smaller than the patch: rejected by name, or reflect-padded (reflect-101) at bottom/right")
    func smallImages() throws {
        let small = CodedPairs(sizes: [(5, 4)])
        let rejecting = try sampler(seed: 1, batchSize: 1, patch: 7, dataset: small)
        var r = rejecting
        #expect(datasetErrorReason { () throws(DatasetError) in _ = try r.nextBatch() }
                == .imageSmallerThanPatch(name: "coded0.png", height: 5, width: 4, patchSize: 7))
        #expect(r.state == rejecting.state, "a failed batch leaves the state unchanged")

        var padding = try PairedBatchSampler(
            dataset: small, batchSize: 1,
            augmentation: PatchAugmentation(patchSize: 7, flips: false, rotations: false, smallImages: .reflectPad), seed: 1)
        let batch = try padding.nextBatch()
        // NumPy pad(mode="reflect"): rows 0 1 2 3 4 3 2, columns 0 1 2 3 2 1 0.
        let rows = [0, 1, 2, 3, 4, 3, 2], cols = [0, 1, 2, 3, 2, 1, 0]
        let clean = bytes(sample(batch.clean, 0))
        for y in 0..<7 {
            for x in 0..<7 {
                #expect(clean[y * 7 + x] == rows[y] && clean[49 + y * 7 + x] == cols[x])
            }
        }
    }

    @Test("degraded and clean patches correspond pixel for pixel, as the reported transform says")
    func pairsStayAligned() throws {
        var s = try sampler(seed: 42, batchSize: 4)
        let dataset = CodedPairs(sizes: mixedSizes)
        var seenTransforms = Set<[Int]>()
        for _ in 0..<20 {
            let batch = try s.nextBatch()
            #expect(batch.degraded.shape == [4, 3, 8, 8] && batch.clean.shape == [4, 3, 8, 8])
            for b in 0..<4 {
                let clean = sample(batch.clean, b), degraded = sample(batch.degraded, b)
                #expect(bytes(degraded) == bytes(clean).map { 255 - $0 })
                let t = batch.transforms[b]
                let source = try dataset.pair(at: batch.indices[b], epoch: 0).clean
                #expect(bytes(clean) == bytes(referencePatch(source, t, size: 8)))
                #expect(t.top + 8 <= source.shape[1] && t.left + 8 <= source.shape[2])
                seenTransforms.insert([t.horizontalFlip ? 1 : 0, t.verticalFlip ? 1 : 0, t.quarterTurns])
            }
        }
        // 80 draws: all 16 flip/turn combinations occur (each has probability 1/16).
        #expect(seenTransforms.count == 16)
    }

    @Test("each epoch visits every pair once; batches straddle epoch ends")
    func epochsCoverDataset() throws {
        var s = try sampler(seed: 5, batchSize: 3)
        var stream: [(index: Int, epoch: Int)] = []
        for _ in 0..<7 {  // 21 samples = 3 epochs of 7
            let batch = try s.nextBatch()
            stream += zip(batch.indices, batch.epochs).map { ($0, $1) }
        }
        for e in 0..<3 {
            let epoch = stream[(7 * e)..<(7 * e + 7)]
            #expect(epoch.allSatisfy { $0.epoch == e })
            #expect(Set(epoch.map(\.index)) == Set(0..<7))
        }
        #expect(stream[0..<7].map(\.index) != stream[7..<14].map(\.index), "each epoch is reshuffled")
        #expect(s.state.epoch == 2 && s.state.position == 7 && s.state.batchesServed == 7)
    }
}

@Suite("Background loader")
struct LoaderBackgroundTests {
    @Test("same seed, different thread timing and prefetch: the same batches as the plain sampler")
    func deterministicAcrossTiming() throws {
        var direct = try sampler(seed: 7)
        let expected = try (0..<12).map { _ in try direct.nextBatch() }

        let fast = BackgroundLoader(sampler: try sampler(seed: 7), prefetch: 6)
        let slow = BackgroundLoader(sampler: try sampler(seed: 7), prefetch: 1)
        var jitter = RandomGenerator(seed: 99)
        for k in 0..<12 {
            let a = try fast.nextBatch()
            Thread.sleep(forTimeInterval: Double(jitter.uniformInt(below: 4)) * 0.002)
            let b = try slow.nextBatch()
            #expect(sameBatch(a, expected[k]) && sameBatch(b, expected[k]), "batch \(k)")
        }
        #expect(fast.state == direct.state && slow.state == direct.state)
        fast.stop()
        slow.stop()
    }

    @Test("reading a batch's pairs concurrently changes nothing")
    func concurrentLoadingSameBatches() throws {
        let noisy = SyntheticPairedDataset(cleanImages: (0..<5).map { ("c\($0)", coordinateImage(height: 20, width: 18, seed: $0)) },
                                           degradation: GaussianNoise(sigma: 15...15), seed: 2)
        var serial = try sampler(seed: 8, batchSize: 4, dataset: noisy)
        var concurrent = try sampler(seed: 8, batchSize: 4, dataset: noisy)
        concurrent.loadsConcurrently = true
        for _ in 0..<6 { #expect(sameBatch(try serial.nextBatch(), try concurrent.nextBatch())) }
    }

    @Test("a saved state (through JSON) resumes the exact same batches")
    func saveAndRestore() throws {
        var reference = try sampler(seed: 3)
        let all = try (0..<10).map { _ in try reference.nextBatch() }

        let loader = BackgroundLoader(sampler: try sampler(seed: 3), prefetch: 3)
        for k in 0..<4 { #expect(sameBatch(try loader.nextBatch(), all[k])) }
        Thread.sleep(forTimeInterval: 0.02)  // let the producer run ahead; its extra batches must not count
        let saved = try JSONEncoder().encode(loader.state)
        loader.stop()

        let state = try JSONDecoder().decode(BatchSourceState.self, from: saved)
        #expect(state.batchesServed == 4)
        var resumedSampler = try PairedBatchSampler(dataset: CodedPairs(sizes: mixedSizes), batchSize: 3,
                                                    augmentation: PatchAugmentation(patchSize: 8), seed: 99)
        try resumedSampler.restore(state)
        let resumed = BackgroundLoader(sampler: resumedSampler, prefetch: 2)
        for k in 4..<10 { #expect(sameBatch(try resumed.nextBatch(), all[k]), "batch \(k)") }
    }

    @Test("sampler and loader serve the same stream through BatchSource")
    func batchSourceProtocol() throws {
        func take<S: BatchSource>(_ source: inout S, _ n: Int) throws -> ([TrainingBatch], BatchSourceState) {
            (try (0..<n).map { _ in try source.nextBatch() }, source.state)
        }
        var plain = try sampler(seed: 21)
        var background = BackgroundLoader(sampler: try sampler(seed: 21), prefetch: 2)
        let (a, stateA) = try take(&plain, 5)
        let (b, stateB) = try take(&background, 5)
        #expect(zip(a, b).allSatisfy { sameBatch($0, $1) } && stateA == stateB && stateA.batchesServed == 5)
    }

    @Test("a state from another dataset is refused, for the sampler and the loader, changing nothing")
    func incompatibleState() throws {
        let state = try sampler(seed: 3).state
        var smaller = try sampler(seed: 4, dataset: CodedPairs(sizes: Array(mixedSizes.prefix(5))))
        let before = smaller.state
        #expect(throws: BatchSourceError.stateMismatch("its order covers 7 pairs, the dataset has 5")) { try smaller.restore(state) }
        #expect(smaller.state == before)
        let loader = BackgroundLoader(sampler: smaller, prefetch: 2)
        #expect(throws: BatchSourceError.self) { try loader.restore(state) }
        #expect(loader.state == before)
        loader.stop()
    }

    @Test("a producer error reaches the consumer in order, typed, and stays")
    func errorsPropagate() throws {
        let failing = CodedPairs(sizes: mixedSizes, failingIndex: 3)
        let s = try PairedBatchSampler(dataset: failing, batchSize: 2, augmentation: PatchAugmentation(patchSize: 8),
                                       shuffles: false, seed: 0)
        let loader = BackgroundLoader(sampler: s, prefetch: 4)
        #expect(try loader.nextBatch().indices == [0, 1])
        let expected = DatasetError.Reason.unreadableImage(path: "coded3.png", message: "test failure")
        #expect(datasetErrorReason { () throws(DatasetError) in _ = try loader.nextBatch() } == expected)
        #expect(datasetErrorReason { () throws(DatasetError) in _ = try loader.nextBatch() } == expected)
        #expect(loader.state.batchesServed == 1)
    }

    @Test("stop ends the thread, is idempotent, and later calls report it")
    func cleanShutdown() throws {
        let loader = BackgroundLoader(sampler: try sampler(seed: 1), prefetch: 2)
        _ = try loader.nextBatch()
        loader.stop()
        loader.stop()
        #expect(datasetErrorReason { () throws(DatasetError) in _ = try loader.nextBatch() } == .loaderStopped)
        // Dropping a running loader stops its thread (deinit joins it) without hanging.
        for seed in 0..<5 { _ = BackgroundLoader(sampler: try sampler(seed: UInt64(seed)), prefetch: 3) }
    }
}
