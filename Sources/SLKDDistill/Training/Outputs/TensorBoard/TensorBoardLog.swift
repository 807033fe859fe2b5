import Foundation
import SwiftProtobuf

/// Writes the loss, every loss term, the metrics and the learning rate of each step as
/// TensorBoard scalars (`events.out.tfevents.<seconds>.<host>` in `folder`, as BasicSR's
/// `use_tb_logger: true` does under `tb_logger/<name>`), so `tensorboard --logdir tb_logger`
/// plots a run while it trains.
///
/// Tags: `loss`, `lr`, `terms/<name>` and the metric names with `.` as `/` (`eval/psnr`).
/// Skipped (non-finite) steps are not written.
public final class TensorBoardLog: TrainingCallback {
    /// The folder of the events file.
    public let folder: URL
    /// The events file, once the run has started.
    public private(set) var fileURL: URL?
    private var writer: TFRecordWriter?

    /// A log writing into `folder` (created when the run starts).
    public init(folder: URL) { self.folder = folder }

    public func trainerWillStart(_ trainer: Trainer) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let now = Date().timeIntervalSince1970
        // A new file per start, as TensorFlow's writers do: TensorBoard merges a folder's files.
        let url = folder.appendingPathComponent(
            "events.out.tfevents.\(Int(now)).\(ProcessInfo.processInfo.hostName).\(ProcessInfo.processInfo.processIdentifier)")
        let writer = try TFRecordWriter(creating: url)
        var header = Tensorboard_Event()
        header.wallTime = now
        header.fileVersion = "brain.Event:2"
        try writer.append(try header.serializedData())
        self.writer = writer
        fileURL = url
    }

    public func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        guard !result.skipped, let writer else { return .continue }
        var scalars = [("loss", result.loss), ("lr", result.metrics["learning_rate"] ?? trainer.optimizer.learningRate)]
        scalars += result.terms.sorted { $0.key < $1.key }.map { ("terms/" + $0.key, $0.value) }
        scalars += result.metrics.sorted { $0.key < $1.key }.filter { $0.key != "learning_rate" }
            .map { ($0.key.replacingOccurrences(of: ".", with: "/"), $0.value) }
        var event = Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(result.step + 1)
        event.summary.value = scalars.filter { $0.1.isFinite }.map { tag, value in
            var entry = Tensorboard_Summary.Value()
            entry.tag = tag
            entry.simpleValue = Float(value)
            return entry
        }
        try writer.append(try event.serializedData())
        return .continue
    }

    public func trainerDidFinish(_ trainer: Trainer, summary: TrainingSummary) throws {
        try writer?.close()
        writer = nil
    }

    /// The scalars of an events file, by tag, as (step, value) pairs in file order: what
    /// TensorBoard plots. Checks every record's checksums.
    public static func scalars(in url: URL) throws -> [String: [(step: Int, value: Float)]] {
        var series: [String: [(step: Int, value: Float)]] = [:]
        for record in try TFRecordWriter.records(in: try Data(contentsOf: url)) {
            let event = try Tensorboard_Event(serializedBytes: record)
            guard case .summary(let summary)? = event.what else { continue }
            for value in summary.value { series[value.tag, default: []].append((Int(event.step), value.simpleValue)) }
        }
        return series
    }
}
