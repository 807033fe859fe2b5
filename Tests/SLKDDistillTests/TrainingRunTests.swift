import Foundation
import Testing
import SLKDDistill
import SLKDModels

/// `TrainingRun` from an options file, resuming a checkpoint written before the batch pipeline
/// was unified (format 1).
@Suite("Training run", .serialized)
struct TrainingRunTests {
    /// `Vectors/format1-checkpoint`: three 40×40 noisy/clean PNG pairs, the options of a tiny
    /// Restormer run on them, and the checkpoint `slkd train` wrote after step 3 of 6 at commit
    /// 05d11f3 (SLKD 0.1.0, checkpoint format 1).
    static var fixture: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Vectors/format1-checkpoint")
    }

    /// The fixture's run, 6 steps, writing into `folder`.
    static func run(into folder: URL, prefetch: Int) throws -> TrainingRun {
        let yaml = try String(contentsOf: fixture.appendingPathComponent("train.yml"), encoding: .utf8)
            .replacingOccurrences(of: "total_iter: 3", with: "total_iter: 6")
        var options = try TrainingOptions(yaml: yaml, baseFolder: fixture)
        options.experimentsFolder = folder
        return try TrainingRun(options: options, task: .train, prefetch: prefetch, echo: false)
    }

    @Test("a format-1 checkpoint resumes: weights, step and stream position carry over, and training continues")
    func formatOneCheckpointResumes() throws {
        let checkpoint = Self.fixture.appendingPathComponent("tiny-train-step3.safetensors")
        let file = try TrainingCheckpointFile.read(from: checkpoint)
        // What the old writer put in the file's metadata (read with a JSON tool when it was committed).
        #expect(file.state.format == 1 && file.state.step == 3)
        #expect(file.data.epoch == 1 && file.data.position == 3 && file.data.order == [1, 0, 2] && file.data.batchesServed == 3)

        var finals: [[String: [Float]]] = []
        for prefetch in [0, 2] {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-format1-\(prefetch)-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let run = try Self.run(into: folder, prefetch: prefetch)
            try run.resume(from: checkpoint)
            #expect(run.step == 3)
            #expect(run.trainer.data.state == file.data)
            let loaded = run.network.stateDictionary()
            #expect(loaded.keys.allSatisfy { loaded[$0]!.floats == file.model["model.\($0)"]?.floats })
            let summary = try run.run()
            #expect(summary.stepsTaken == 3 && summary.skippedSteps == 0 && run.step == 6)
            #expect(run.trainer.data.state.batchesServed == 6)
            let written = try SafeTensors.read(from: folder.appendingPathComponent("models/net_g_latest.safetensors")).tensors
            #expect(written.keys.sorted() == loaded.keys.sorted())
            #expect(written.contains { $0.value.floats != loaded[$0.key]!.floats }, "three more steps change the weights")
            finals.append(written.mapValues(\.floats))
        }
        #expect(finals[0] == finals[1], "the background loader changes nothing")
    }

    @Test("a run stopped and resumed from its own checkpoint ends bit-identical to an uninterrupted run, with and without the loader")
    func resumeIsExact() throws {
        func weights(_ folder: URL) throws -> [String: [Float]] {
            try SafeTensors.read(from: folder.appendingPathComponent("models/net_g_latest.safetensors")).tensors.mapValues(\.floats)
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-run-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let straight = try Self.run(into: root.appendingPathComponent("straight"), prefetch: 2)
        try straight.run()
        for prefetch in [0, 2] {
            let folder = root.appendingPathComponent("stopped\(prefetch)")
            try Self.run(into: folder, prefetch: prefetch).run(steps: 4)
            let resumed = try Self.run(into: folder, prefetch: 2 - prefetch)
            try resumed.resume(from: folder.appendingPathComponent("training_states/latest.safetensors"))
            #expect(resumed.step == 4)
            try resumed.run()
            #expect(try weights(folder) == (try weights(root.appendingPathComponent("straight"))), "prefetch \(prefetch)")
        }
    }
}
