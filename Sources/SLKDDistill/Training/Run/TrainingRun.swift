import Foundation
import Logging
import SLKDModels

/// One training run: a network, the objective that trains it, a batch source and a trainer,
/// with the files it writes. `slkd train`, `slkd distill` and `slkd demo` run through it, and so
/// can any Swift program.
///
/// From Swift values:
///
/// ```swift
/// let run = TrainingRun(network: student, objective: objective, data: data,
///                       configuration: .init(totalSteps: 1000),
///                       outputs: TrainingOutputs(folder: runFolder, checkpointInterval: 100))
/// try run.run(callbacks: [LoggingCallback(every: 50)])
/// ```
///
/// From a BasicSR options file, exactly as `slkd distill --options distill.yml` does:
///
/// ```swift
/// let options = try TrainingOptions.load(contentsOf: URL(fileURLWithPath: "distill.yml"))
/// let run = try TrainingRun(options: options, task: .distill)
/// try run.run()
/// ```
public final class TrainingRun {
    /// The network whose weights are the result (the teacher trained, or the student).
    public let network: any RestorationModel
    /// The trainer (optimizer, schedule, step counter, checkpoints).
    public let trainer: Trainer
    /// Where the run's files go (nil: nothing is written). In a data-parallel run only rank 0
    /// writes them.
    public let outputs: TrainingOutputs?

    /// A run of `objective` on `data` that trains `network`.
    ///
    /// - Parameters:
    ///   - network: the network whose weights are the result; one of `objective`'s trainable modules.
    ///   - objective: the loss and the modules it trains.
    ///   - data: the batches.
    ///   - configuration: steps, optimizer and schedule.
    ///   - outputs: the files to write, or nil for none.
    ///   - logger: where the trainer reports skipped steps and stops.
    ///   - communicator: the processes of a data-parallel run (`data` must then be this
    ///     process's ``DataShard``, e.g. `communicator.shard`).
    public init(network: any RestorationModel, objective: any TrainingObjective, data: any BatchSource,
                configuration: TrainerConfiguration, outputs: TrainingOutputs? = nil,
                logger: Logger = Logger(label: "slkd.train"), communicator: any Communicator = SingleProcess()) {
        self.network = network
        self.outputs = outputs
        trainer = Trainer(objective: objective, data: data, configuration: configuration, logger: logger,
                          communicator: communicator)
    }

    /// The processes of the run.
    public var communicator: any Communicator { trainer.communicator }
    /// Whether this process writes the run's files (rank 0).
    public var writesOutputs: Bool { communicator.rank == 0 }

    /// The objective being minimised.
    public var objective: any TrainingObjective { trainer.objective }
    /// The run's logger.
    public var logger: Logger { trainer.logger }
    /// Steps taken so far.
    public var step: Int { trainer.step }

    /// An evaluation run every so many steps, its metrics reported as `eval.<name>`.
    public var evaluation: Trainer.Evaluation? {
        get { trainer.evaluation }
        set { trainer.evaluation = newValue }
    }

    /// Continues from a checkpoint written by this kind of run: weights, optimizer, step,
    /// generators and the batch stream's position.
    ///
    /// - Parameters:
    ///   - url: the checkpoint file.
    ///   - maximumBytes: the most tensor bytes the file may produce (a `--max-memory` setting);
    ///     nil derives the limit from the file's size (`ReadBudget`).
    /// - Throws: ``TrainingError/checkpoint(path:reason:)`` when the file does not fit (nothing
    ///   changes then).
    public func resume(from url: URL, maximumBytes: Int? = nil) throws {
        try trainer.loadCheckpoint(from: url, maximumBytes: maximumBytes)
        logger.info("resumed from \(url.path) at step \(trainer.step)")
    }

    /// Trains to the end of the run (or `steps` more steps), calling `callbacks` after each step,
    /// then writes the network's weights to ``TrainingOutputs/weightsURL``.
    ///
    /// - Throws: ``TrainingError/nonFinite(step:consecutive:lastGoodStep:)`` when too many steps
    ///   in a row were not finite (the last checkpoint stays intact), errors of the batch source,
    ///   the callbacks and the file writes.
    @discardableResult
    public func run(steps: Int? = nil, callbacks: [any TrainingCallback] = []) throws -> TrainingSummary {
        let outputs = writesOutputs ? outputs : nil
        try outputs?.createFolders()
        network.train()
        defer { network.eval() }
        let summary = try trainer.run(steps: steps, callbacks: callbacks + (outputs?.callbacks(network: network) ?? []))
        if let outputs {
            try SafeTensors.write(network.stateDictionary(), to: outputs.weightsURL)
            logger.info("wrote \(outputs.weightsURL.path)")
        }
        return summary
    }
}
