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

    /// The parsed options and their `network_g`, with `path.pretrain_network_g` loaded if given.
    func load() throws -> (options: TrainingOptions, network: any RestorationModel) {
        let parsed = try ToolError.wrap(options) { try TrainingOptions.load(contentsOf: URL(fileURLWithPath: options)) }
        let network = try ToolError.wrap(options) { try NetworkOptions.build(network: parsed.network, seed: parsed.seed) }
        if let weights = parsed.pretrainedWeights {
            try ModelSource.loadWeights(weights.path, into: network, network: "network_g", memory: memory)
        }
        return (parsed, network)
    }

    /// `--resume`, else the options' `path.resume_state`.
    func resumeURL(_ parsed: TrainingOptions) -> URL? { resume.map { URL(fileURLWithPath: $0) } ?? parsed.resumeState }
}

/// The loop shared by `slkd train` and `slkd distill`: data from the options' folders, the
/// trainer, validation, checkpoints, progress and the final weights.
///
/// Files under the experiments folder (BasicSR's layout, safetensors instead of pickles):
/// `training_states/latest.safetensors` (the full trainer state, for `--resume`),
/// `models/net_g_latest.safetensors` (the trained network only, official key names),
/// `models/net_g_<step>.safetensors` every `logger.save_checkpoint_freq` steps (the newest
/// `logger.keep_checkpoints` kept), `train_<name>_<time>.log` (the lines printed),
/// `metrics.jsonl` (every step's rate, loss, terms and metrics) and, with
/// `logger.use_tb_logger: true`, TensorBoard events under `tb_logger/`.
struct OptionsTraining {
    let options: TrainingOptions
    /// The network whose weights are the result (the teacher trained, or the student).
    let network: any RestorationModel
    let objective: any TrainingObjective
    /// `--max-memory`, the resumed checkpoint's read budget.
    let memory: MemoryBudget

    var checkpointURL: URL {
        options.experimentsFolder.appendingPathComponent("training_states").appendingPathComponent("latest.safetensors")
    }

    var weightsURL: URL {
        options.experimentsFolder.appendingPathComponent("models").appendingPathComponent("net_g_latest.safetensors")
    }

    func run(resume: URL?) throws {
        let data = options.trainData
        let pairs = try ToolError.wrap(data.degradedFolder.path) { try data.dataset() }
        let augmentation = PatchAugmentation(patchSize: data.patchSize ?? 128, flips: data.flips, rotations: data.rotations,
                                             smallImages: .reflectPad)
        let source = try ToolError.wrap(data.degradedFolder.path) {
            try PairedDatasetBatchSource(dataset: pairs, batchSize: data.batchSize, augmentation: augmentation,
                                         shuffles: data.shuffle, seed: options.seed, prefetch: 2)
        }
        let logFile = try ToolError.wrap(options.experimentsFolder.path) {
            try LogFile(url: options.experimentsFolder.appendingPathComponent(LogFile.trainingLogName(run: options.name)))
        }
        // Every line goes to the terminal and to the run's log file.
        let logger = Logger(label: "slkd.train") { _ in PlainLogHandler(file: logFile, echo: true) }
        for warning in options.unsupportedSettings { logger.warning("\(warning)") }
        let trainer = Trainer(objective: objective, data: source, configuration: options.trainer, logger: logger)
        if let resume {
            try ToolError.wrap(resume.path) { try trainer.loadCheckpoint(from: resume, maximumBytes: memory.maximumBytes) }
            logger.info("resumed from \(resume.path) at step \(trainer.step)")
        }
        if let validation = options.validationData, let interval = options.validationInterval, interval > 0 {
            let validationPairs = try ToolError.wrap(validation.degradedFolder.path) { try validation.dataset() }
            let model = network
            trainer.evaluation = .init(interval: interval) { _ in
                model.eval()
                defer { model.train() }
                let report = try TestSetEvaluation.run(validationPairs, name: validation.name) { try restore(image: $0, with: model) }
                return ["psnr": report.mean.psnr, "ssim": report.mean.ssim]
            }
        }
        let fm = FileManager.default
        try ToolError.wrap(options.experimentsFolder.path) {
            for folder in [checkpointURL, weightsURL].map({ $0.deletingLastPathComponent() }) {
                try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            }
        }
        logger.info("""
            training \(options.name): \(pairs.count) pairs from \(data.degradedFolder.path), \
            batch \(data.batchSize) × \(augmentation.patchSize)², \(options.trainer.totalSteps) steps; \
            checkpoints in \(checkpointURL.path)
            """)
        let checkpointInterval = options.checkpointInterval ?? max(options.trainer.totalSteps / 10, 1)
        var callbacks: [any TrainingCallback] = [
            StepReporter(every: options.printInterval, total: options.trainer.totalSteps, startingAt: trainer.step, logger: logger),
            MetricsLog(url: options.experimentsFolder.appendingPathComponent("metrics.jsonl")),
            WeightSnapshots(every: checkpointInterval, folder: weightsURL.deletingLastPathComponent(),
                            keep: options.keptSnapshots, network: network),
        ]
        if options.usesTensorBoard {
            callbacks.append(TensorBoardLog(folder: options.experimentsFolder.appendingPathComponent("tb_logger")))
        }
        callbacks.append(PeriodicCheckpoint(every: checkpointInterval, url: checkpointURL))
        network.train()
        do {
            _ = try trainer.run(callbacks: callbacks)
        } catch let error as TrainingError {
            throw ToolError("\(error) (the last checkpoint, if any, is intact: \(checkpointURL.path))")
        }
        network.eval()
        try ToolError.wrap(weightsURL.path) {
            try SafeTensors.write(network.stateDictionary(), to: weightsURL)
        }
        logger.info("wrote \(weightsURL.path)")
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
