import Foundation

/// Appends one JSON object per step to a `metrics.jsonl` file: the step (counted from 1, as
/// BasicSR's iterations), the learning rate, the loss, every loss term, the metrics of that step
/// (the step's own `seconds`, `gradient_norm` and batch `psnr`; validation PSNR/SSIM under
/// `eval.` when it ran) and the seconds elapsed since this run (or resumption) started.
///
/// ```json
/// {"elapsed":40.2,"loss":0.031,"lr":0.0002,"metrics":{"eval.psnr":27.1,"seconds":0.8},"skipped":false,"step":12,"terms":{"kl":0.001,"l1":0.03}}
/// ```
///
/// Read it with `pandas.read_json(path, lines=True)`. On a resumed run the rows of steps the
/// checkpoint does not include (a run killed after its last checkpoint) are dropped before new
/// rows are appended, so every step appears once.
public final class MetricsLog: TrainingCallback {
    /// The file.
    public let url: URL
    private var handle: FileHandle?
    private var started = Date()

    /// A log at `url`, created (with its folder) when the run starts.
    public init(url: URL) { self.url = url }

    /// One row of the file.
    public struct Row: Codable, Sendable, Equatable {
        public var step: Int
        public var lr: Double
        public var loss: Double
        public var terms: [String: Double]
        public var metrics: [String: Double]
        public var elapsed: Double
        public var skipped: Bool
    }

    public func trainerWillStart(_ trainer: Trainer) throws {
        started = Date()
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if fm.fileExists(atPath: url.path) {
            // Keep only the steps the trainer's state includes, rewritten atomically.
            let kept = try Self.read(url).filter { $0.step <= trainer.step }
            try AtomicFile.write(Data(try kept.map(Self.line).joined()), to: url)
        } else {
            try AtomicFile.write(Data(), to: url)
        }
        handle = try FileHandle(forWritingTo: url)
        try handle?.seekToEnd()
    }

    public func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        let lr = result.metrics["learning_rate"] ?? trainer.optimizer.learningRate
        let row = Row(step: result.step + 1, lr: lr, loss: result.loss, terms: result.terms,
                      metrics: result.metrics.filter { $0.key != "learning_rate" && $0.value.isFinite },
                      elapsed: Date().timeIntervalSince(started),
                      skipped: result.skipped)
        try handle?.write(contentsOf: Self.line(row))
        return .continue
    }

    public func trainerDidFinish(_ trainer: Trainer, summary: TrainingSummary) throws {
        try handle?.close()
        handle = nil
    }

    /// The rows of a metrics file.
    public static func read(_ url: URL) throws -> [Row] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(Row.self, from: Data($0.utf8)) }
    }

    private static func line(_ row: Row) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A non-finite loss (a skipped step) has no JSON number: it is written as null's stand-in 0
        // with `skipped` true, so the row still parses everywhere.
        var finite = row
        if !finite.loss.isFinite { finite.loss = 0 }
        finite.terms = finite.terms.mapValues { $0.isFinite ? $0 : 0 }
        return try encoder.encode(finite) + Data("\n".utf8)
    }
}
