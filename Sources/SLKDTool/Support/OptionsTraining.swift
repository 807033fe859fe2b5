import ArgumentParser
import Foundation
import Logging
import SLKDDistill
import SLKDModels
import SLKDTensor

/// The arguments `slkd train` and `slkd distill` share: the options file and a checkpoint.
struct OptionsFileArguments: ParsableArguments {
    @Option(help: "The BasicSR-style YAML options file.")
    var options: String

    @Option(help: "A training checkpoint to resume from (default: path.resume_state of the options).")
    var resume: String?

    @OptionGroup var memory: MemoryBudget

    /// The parsed options file.
    func parse() throws -> TrainingOptions {
        try ToolError.wrap(options) { try TrainingOptions.load(contentsOf: URL(fileURLWithPath: options)) }
    }

    /// `--resume`, else the options' `path.resume_state`.
    func resumeURL(_ parsed: TrainingOptions) -> URL? { resume.map { URL(fileURLWithPath: $0) } ?? parsed.resumeState }
}

/// What `slkd train` and `slkd distill` share: the library's ``TrainingRun`` from the options
/// file, a resume, the progress bar and the printed lines.
enum OptionsTraining {
    static func run(_ arguments: OptionsFileArguments, task: TrainingRun.Task) throws {
        let options = try arguments.parse()
        // Every weights file of the options (network_g's, the teachers') and the resumed checkpoint
        // are read under --max-memory.
        let memory = arguments.memory
        let loader = WeightsLoader { url, model, network in
            try ModelSource.loadWeights(url.path, into: model, network: network, memory: memory)
        }
        let run = try ToolError.wrap(arguments.options) { try TrainingRun(options: options, task: task, loadWeights: loader) }
        if let resume = arguments.resumeURL(options) {
            try ToolError.wrap(resume.path) { try run.resume(from: resume, maximumBytes: memory.maximumBytes) }
        }
        let reporter = StepReporter(every: options.printInterval, total: options.trainer.totalSteps, startingAt: run.step,
                                    logger: run.logger)
        do {
            try run.run(callbacks: [reporter])
        } catch let error as TrainingError {
            let checkpoint = run.outputs.map { " (the last checkpoint, if any, is intact: \($0.checkpointURL.path))" } ?? ""
            throw ToolError("\(error)\(checkpoint)")
        }
    }
}

/// Logs a line every `interval` steps (and the last), and draws a progress bar on a terminal.
final class StepReporter: TrainingCallback {
    let interval: Int
    let bar: ProgressBar
    let logger: Logger
    private var started = Date()

    init(every interval: Int, total: Int, startingAt step: Int, logger: Logger) {
        self.interval = max(interval, 1)
        self.logger = logger
        bar = ProgressBar(total: total)
        bar.advance(by: step, label: "resuming")
    }

    func trainerWillStart(_ trainer: Trainer) throws { started = Date() }

    func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        bar.advance(label: "step \(trainer.step)/\(trainer.configuration.totalSteps) loss \(String(format: "%.4f", result.loss))")
        if trainer.step % interval == 0 || trainer.step == trainer.configuration.totalSteps || result.skipped {
            bar.finish()
            var parts = ["step \(trainer.step)", "loss \(String(format: "%.5f", result.loss))"]
            parts += result.terms.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.5f", $0.value))" }
            parts += result.metrics.sorted { $0.key < $1.key }.filter { $0.key != "seconds" }
                .map { "\($0.key) \(String(format: "%.4g", $0.value))" }
            if result.skipped { parts.append("SKIPPED (non-finite)") }
            parts.append(String(format: "%.1f s", Date().timeIntervalSince(started)))
            logger.info("\(parts.joined(separator: " · "))")
        }
        return .continue
    }

    func trainerDidFinish(_ trainer: Trainer, summary: TrainingSummary) throws { bar.finish() }
}
