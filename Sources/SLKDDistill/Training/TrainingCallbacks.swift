import Foundation
import Logging

/// What a callback wants after a step.
public enum TrainingControl: Sendable, Equatable {
    case `continue`
    case stop(String)
}

/// Hooks into ``Trainer/run(steps:callbacks:)``; every method has a do-nothing default.
public protocol TrainingCallback: AnyObject {
    func trainerWillStart(_ trainer: Trainer) throws
    func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl
    func trainerDidFinish(_ trainer: Trainer, summary: TrainingSummary) throws
}

extension TrainingCallback {
    public func trainerWillStart(_ trainer: Trainer) throws {}
    public func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl { .continue }
    public func trainerDidFinish(_ trainer: Trainer, summary: TrainingSummary) throws {}
}

/// Logs loss, terms and metrics every `interval` steps (and every evaluation) at `info`.
public final class LoggingCallback: TrainingCallback {
    public let interval: Int

    public init(every interval: Int) {
        precondition(interval > 0, "logging interval must be positive")
        self.interval = interval
    }

    public func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        let evaluated = result.metrics.keys.contains { $0.hasPrefix("eval.") }
        guard (result.step + 1) % interval == 0 || evaluated else { return .continue }
        var metadata: Logger.Metadata = ["step": "\(result.step)", "loss": "\(result.loss)"]
        for (k, v) in result.terms { metadata["term." + k] = "\(v)" }
        for (k, v) in result.metrics { metadata[k] = "\(v)" }
        trainer.logger.info("step", metadata: metadata)
        return .continue
    }
}

/// Stops when a monitored value has not improved by `minimumDelta` for `patience` observations.
/// The value is a metric (`eval.psnr`, `psnr`, …) or `loss`; steps without it are not observed.
public final class EarlyStopping: TrainingCallback {
    public let monitor: String
    public let patience: Int
    public let minimumDelta: Double
    /// Whether larger is better (PSNR) or smaller (loss).
    public let maximize: Bool
    public private(set) var best: Double?
    public private(set) var observationsWithoutImprovement = 0

    public init(monitor: String = "loss", maximize: Bool = false, patience: Int, minimumDelta: Double = 0) {
        precondition(patience > 0, "early-stopping patience must be positive")
        self.monitor = monitor
        self.maximize = maximize
        self.patience = patience
        self.minimumDelta = minimumDelta
    }

    public func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        let observed: Double? = monitor == "loss" ? result.loss : result.metrics[monitor]
        guard !result.skipped, let value = observed, value.isFinite else {
            return .continue
        }
        let improved = best.map { maximize ? value > $0 + minimumDelta : value < $0 - minimumDelta } ?? true
        if improved {
            best = value
            observationsWithoutImprovement = 0
            return .continue
        }
        observationsWithoutImprovement += 1
        return observationsWithoutImprovement >= patience
            ? .stop("\(monitor) did not improve on \(best!) for \(patience) observations") : .continue
    }
}

/// Writes a checkpoint every `interval` steps and at the end of the run. Skipped (non-finite)
/// steps never trigger a write, so the file always holds a good state.
public final class PeriodicCheckpoint: TrainingCallback {
    public let interval: Int
    public let url: URL
    public private(set) var lastWrittenStep: Int?

    public init(every interval: Int, url: URL) {
        precondition(interval > 0, "checkpoint interval must be positive")
        self.interval = interval
        self.url = url
    }

    public func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        if !result.skipped && trainer.step % interval == 0 { try write(trainer) }
        return .continue
    }

    public func trainerDidFinish(_ trainer: Trainer, summary: TrainingSummary) throws {
        if summary.lastResult.map({ !$0.skipped }) ?? false, lastWrittenStep != trainer.step { try write(trainer) }
    }

    private func write(_ trainer: Trainer) throws {
        try trainer.saveCheckpoint(to: url)
        lastWrittenStep = trainer.step
        trainer.logger.debug("checkpoint written", metadata: ["step": "\(trainer.step)", "path": "\(url.path)"])
    }
}
