import ArgumentParser
import Foundation
import Logging
import SLKDDistill
import SLKDDistributed
import SLKDModels
import SLKDTensor

/// The arguments `slkd train` and `slkd distill` share: the options file and a checkpoint.
struct OptionsFileArguments: ParsableArguments {
    @Option(help: "The BasicSR-style YAML options file.")
    var options: String

    @Option(help: "A training checkpoint to resume from (default: path.resume_state of the options).")
    var resume: String?

    @Option(help: ArgumentHelp("How the processes of the job were started: none (one process) or mpi (mpirun, mpiexec, srun).",
                               discussion: "Default: mpi when the environment shows an MPI launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_SIZE), else none.",
                               valueName: "none|mpi"))
    var launcher: Launcher?

    /// Writes the first step's gradients (averaged over the processes, before clipping) as
    /// safetensors keyed like the checkpoint's `model.` weights: for comparing launchers.
    @Option(help: .hidden)
    var gradientDump: String?

    @OptionGroup var memory: MemoryBudget

    /// The parsed options file.
    func parse() throws -> TrainingOptions {
        try ToolError.wrap(options) { try TrainingOptions.load(contentsOf: URL(fileURLWithPath: options)) }
    }

    /// `--resume`, else the options' `path.resume_state`.
    func resumeURL(_ parsed: TrainingOptions) -> URL? { resume.map { URL(fileURLWithPath: $0) } ?? parsed.resumeState }
}

/// What `slkd train` and `slkd distill` share: the library's ``TrainingRun`` from the options
/// file, on one process or on every process of an MPI job, a resume, the progress bar and the
/// printed lines.
enum OptionsTraining {
    static func run(_ arguments: OptionsFileArguments, threads: ThreadOptions, task: TrainingRun.Task) throws {
        guard (arguments.launcher ?? Launcher.detected()) == .mpi else {
            return try train(arguments, task: task, communicator: SingleProcess())
        }
        let world: MPICommunicator
        do { world = try MPICommunicator.world() } catch { throw ToolError("--launcher mpi: \(error)") }
        if threads.threads == nil {
            // Ranks on one machine share its cores.
            Parallel.threadCount = max(1, ProcessInfo.processInfo.activeProcessorCount / Launcher.processesPerNode())
            BLASThreads.set(1)
        }
        do {
            try train(arguments, task: task, communicator: world)
        } catch {
            guard world.size > 1 else {
                world.finalize()
                throw error
            }
            // The other ranks may be waiting in a collective for this one: end the whole job now.
            FileHandle.standardError.write(Data("slkd: error: rank \(world.rank) of \(world.size): \(error)\n".utf8))
            world.abort(code: 1)
        }
        world.finalize()
    }

    private static func train(_ arguments: OptionsFileArguments, task: TrainingRun.Task, communicator: any Communicator) throws {
        let options = try arguments.parse()
        // Every weights file of the options (network_g's, the teachers') and the resumed checkpoint
        // are read under --max-memory.
        let memory = arguments.memory
        let loader = WeightsLoader { url, model, network in
            try ModelSource.loadWeights(url.path, into: model, network: network, memory: memory)
        }
        let run = try ToolError.wrap(arguments.options) { try TrainingRun(options: options, task: task, communicator: communicator, loadWeights: loader) }
        if let resume = arguments.resumeURL(options) {
            try ToolError.wrap(resume.path) { try run.resume(from: resume, maximumBytes: memory.maximumBytes) }
        }
        if let dump = arguments.gradientDump { dumpFirstGradients(of: run, to: URL(fileURLWithPath: dump)) }
        let reporter = StepReporter(every: options.printInterval, total: options.trainer.totalSteps, startingAt: run.step,
                                    logger: run.logger, shows: communicator.rank == 0)
        do {
            try run.run(callbacks: [reporter])
        } catch let error as TrainingError {
            let checkpoint = run.outputs.map { " (the last checkpoint, if any, is intact: \($0.checkpointURL.path))" } ?? ""
            throw ToolError("\(error)\(checkpoint)")
        }
    }

    /// Rank 0 writes the gradients of the run's first step to `url`.
    private static func dumpFirstGradients(of run: TrainingRun, to url: URL) {
        let trainer = run.trainer, first = run.step
        trainer.gradientObserver = { step, gradients in
            guard step == first, trainer.communicator.rank == 0 else { return }
            let tensors = trainer.parameters.trainableParameters().compactMap { key, parameter in
                gradients[parameter].map { (key, $0) }
            }
            try? SafeTensors.write(tensors, metadata: [:], to: url)
        }
    }
}

/// Logs a line every `interval` steps (and the last), and draws a progress bar on a terminal.
final class StepReporter: TrainingCallback {
    let interval: Int
    let bar: ProgressBar
    let logger: Logger
    private var started = Date()

    init(every interval: Int, total: Int, startingAt step: Int, logger: Logger, shows: Bool = true) {
        self.interval = max(interval, 1)
        self.logger = logger
        bar = ProgressBar(total: total, enabled: shows && isatty(STDERR_FILENO) == 1)
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

extension Launcher: ExpressibleByArgument {}
