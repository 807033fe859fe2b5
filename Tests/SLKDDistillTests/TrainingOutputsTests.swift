import Foundation
import Logging
import Testing
import SLKDDistill

/// The files a training run leaves for its user: metrics.jsonl, weight snapshots, a TensorBoard
/// events file and the plain-text log.
@Suite("Training outputs", .serialized)
struct TrainingOutputsTests {
    final class Recorder: TrainingCallback {
        var results: [StepResult] = []
        func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
            results.append(result)
            return .continue
        }
    }

    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-outputs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A supervised run of a tiny network on synthetic pairs, 1e-3 cosine-annealed to 1e-6.
    static func trainer(steps: Int, model: TinyRestorer = TinyRestorer(width: 2, seed: 5)) throws -> Trainer {
        let source = try inMemorySource(pairs: syntheticPairs(count: 4, size: 8, seed: 1), batchSize: 2, seed: 1)
        var configuration = TrainerConfiguration(totalSteps: steps)
        configuration.learningRate = 1e-3
        return Trainer(objective: SupervisedObjective(model: model), data: source, configuration: configuration, logger: quietLogger)
    }

    /// The cosine schedule's rate at step index t of an n-step run.
    static func cosine(_ t: Int, _ n: Int) -> Double { 1e-6 + (1e-3 - 1e-6) * (1 + cos(Double.pi * Double(t) / Double(n))) / 2 }

    @Test func metricsLogHasOneRowPerStepWithTheRateLossAndTerms() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("metrics.jsonl")
        // Rows left by an earlier, longer run in the same folder are replaced by this run's.
        try Data("{\"elapsed\":1,\"loss\":9,\"lr\":1,\"metrics\":{},\"skipped\":false,\"step\":1,\"terms\":{}}\n".utf8).write(to: url)
        let recorder = Recorder()
        _ = try Self.trainer(steps: 4).run(callbacks: [recorder, MetricsLog(url: url)])
        let rows = try MetricsLog.read(url)
        #expect(rows.map(\.step) == [1, 2, 3, 4])
        for (k, (row, result)) in zip(rows, recorder.results).enumerated() {
            #expect(abs(row.lr - Self.cosine(k, 4)) < 1e-15)
            #expect(row.loss == result.loss && row.terms == result.terms && !row.skipped)
            #expect(row.metrics["psnr"] == result.metrics["psnr"] && row.metrics["learning_rate"] == nil)
        }
        #expect(rows.map(\.elapsed) == rows.map(\.elapsed).sorted())
    }

    @Test func resumedRunKeepsTheRowsItsCheckpointIncludes() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("metrics.jsonl"), checkpoint = root.appendingPathComponent("state.safetensors")
        let first = try Self.trainer(steps: 6)
        // Killed after step 3 with its checkpoint written at step 2.
        _ = try first.run(steps: 2, callbacks: [MetricsLog(url: url), PeriodicCheckpoint(every: 2, url: checkpoint)])
        _ = try first.run(steps: 1, callbacks: [MetricsLog(url: url)])
        #expect(try MetricsLog.read(url).map(\.step) == [1, 2, 3])
        let resumed = try Self.trainer(steps: 6)
        try resumed.loadCheckpoint(from: checkpoint)
        _ = try resumed.run(callbacks: [MetricsLog(url: url)])
        #expect(try MetricsLog.read(url).map(\.step) == [1, 2, 3, 4, 5, 6])
    }

    @Test func snapshotsEveryIntervalKeepTheNewestAndHoldTheWeights() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let model = TinyRestorer(width: 2, seed: 5)
        // A snapshot an earlier run left counts towards `keep` too.
        try Data().write(to: root.appendingPathComponent("net_g_1.safetensors"))
        let snapshots = WeightSnapshots(every: 2, folder: root, keep: 2, network: model)
        _ = try Self.trainer(steps: 6, model: model).run(callbacks: [snapshots])
        #expect(try snapshots.snapshotSteps() == [4, 6])
        let saved = try SafeTensors.read(from: snapshots.url(atStep: 6))
        let current = model.stateDictionary()
        #expect(Set(saved.names) == Set(current.keys) && !current.isEmpty)
        for (key, tensor) in current { #expect(saved[key]?.floats == tensor.floats, "\(key)") }
    }

    /// CRC-32C's standard check value and the TFRecord framing read back with both checksums.
    @Test func tensorBoardEventsParseBackWithTheSameLibrary() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let recorder = Recorder(), log = TensorBoardLog(folder: root.appendingPathComponent("tb_logger"))
        _ = try Self.trainer(steps: 3).run(callbacks: [recorder, log])
        let file = try #require(log.fileURL)
        #expect(file.lastPathComponent.hasPrefix("events.out.tfevents."))
        let scalars = try TensorBoardLog.scalars(in: file)
        #expect(scalars["loss"]?.map(\.step) == [1, 2, 3])
        #expect(scalars["loss"]?.map(\.value) == recorder.results.map { Float($0.loss) })
        #expect(scalars["lr"]?.map(\.value) == (0..<3).map { Float(Self.cosine($0, 3)) })
        let terms = try #require(recorder.results.first).terms
        #expect(scalars["psnr"]?.count == 3 && !terms.isEmpty)
        for (name, value) in terms { #expect(scalars["terms/" + name]?.first?.value == Float(value), "\(name)") }
        // A flipped byte in the last record's payload fails its checksum.
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count - 6] ^= 0x40
        try bytes.write(to: file)
        #expect(throws: (any Error).self) { _ = try TensorBoardLog.scalars(in: file) }
        #expect(TFRecordWriter.crc32c(Data("123456789".utf8)) == 0xE306_9283)
    }

    /// An events file PyTorch's SummaryWriter wrote (Scripts/reference/tensorboard_fixture.py)
    /// reads back to the scalars it was given: the framing and messages are TensorBoard's own.
    @Test func readsAnEventsFileThatPyTorchWrote() throws {
        let url = try #require(Bundle.module.url(forResource: "pytorch_scalars", withExtension: "tfevents",
                                                 subdirectory: "Vectors/tensorboard"))
        let scalars = try TensorBoardLog.scalars(in: url)
        #expect(scalars["loss"]?.map(\.step) == [1, 2] && scalars["loss"]?.map(\.value) == [0.5, 0.25])
        #expect(scalars["lr"]?.map(\.value) == [0.001])
    }

    @Test func plainLogLinesGoToTheFileWithTimeAndLevel() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let name = LogFile.trainingLogName(run: "tiny", at: Date(timeIntervalSince1970: 1_796_520_000))
        #expect(name.hasPrefix("train_tiny_2026") && name.hasSuffix(".log") && name.count == "train_tiny_20261206_010000.log".count)
        let file = try LogFile(url: root.appendingPathComponent(name))
        let logger = Logger(label: "test") { _ in PlainLogHandler(file: file, echo: false) }
        logger.info("step", metadata: ["loss": "0.5", "step": "3"])
        logger.debug("not at info level")
        let lines = try String(contentsOf: file.url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasSuffix(" INFO: step · loss 0.5 · step 3") == true)
    }
}
