import Foundation
import Logging

/// The optimisation settings of a run (Docs/Method.md#total-loss-and-training: Adam β (0.9, 0.999),
/// weight decay 1e-4 as L2 on the gradient, learning rate 1e-4 cosine-annealed to 1e-6 over
/// the run).
public struct TrainerConfiguration: Codable, Sendable, Hashable {
    /// The run's length in steps: the cosine schedule's period.
    public var totalSteps: Int
    public var learningRate = 1e-4
    public var minimumLearningRate = 1e-6
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var adamEpsilon = 1e-8
    public var weightDecay = 1e-4
    /// Clip the global gradient norm to this (nil: no clipping).
    public var gradientClipNorm: Double?
    /// Steps in a row whose loss (or gradient) is NaN or infinite before the run stops.
    public var maxConsecutiveNonFiniteSteps = 5
    /// Seeds the trainer's generator (handed to the objective each step).
    public var seed: UInt64 = 0
    /// Decoupled weight decay (AdamW, BasicSR's `optim_g: {type: AdamW}`) instead of L2 added to
    /// the gradient (Adam, the choice of Docs/Method.md). Nil means Adam.
    public var decoupledWeightDecay: Bool?
    /// BasicSR's `CosineAnnealingRestartLR`/`CosineAnnealingRestartCyclicLR`: cosine periods with
    /// restarts. Nil: one cosine period over ``totalSteps`` down to ``minimumLearningRate``.
    public var restarts: CosineRestarts?

    /// The periods of a cosine schedule with restarts.
    public struct CosineRestarts: Codable, Sendable, Hashable {
        public var periods: [Int]
        /// Each period's peak as a fraction of the learning rate.
        public var restartWeights: [Double]
        /// Each period's floor.
        public var minima: [Double]

        public init(periods: [Int], restartWeights: [Double], minima: [Double]) {
            self.periods = periods
            self.restartWeights = restartWeights
            self.minima = minima
        }
    }

    public init(totalSteps: Int) {
        precondition(totalSteps > 0, "a run needs at least one step")
        self.totalSteps = totalSteps
    }

    /// The learning-rate schedule of the run.
    public var schedule: any LearningRateSchedule {
        if let restarts {
            return CosineAnnealingRestart(base: learningRate, periods: restarts.periods, restartWeights: restarts.restartWeights,
                                          minima: restarts.minima)
        }
        return CosineAnnealing(base: learningRate, period: totalSteps, minimum: minimumLearningRate)
    }
}

/// What one step did.
public struct StepResult: Sendable {
    /// The step's index (0-based): the number of steps taken before it.
    public var step: Int
    /// The total loss (NaN or ±∞ when skipped for that reason).
    public var loss: Double
    /// Unweighted loss terms.
    public var terms: [String: Double]
    /// `learning_rate`, `gradient_norm`, `seconds`, `psnr` (of the prediction, when the objective
    /// returns one), `communication_seconds` (data-parallel runs: the all-reduces, waiting for the
    /// slowest process included) and `eval.*` from the evaluation hook on the steps it ran.
    public var metrics: [String: Double]
    /// Whether the update was skipped because the loss or a gradient was not finite.
    public var skipped: Bool
}

/// Why a run stopped early or could not continue.
public enum TrainingError: Error, CustomStringConvertible {
    /// `consecutive` steps in a row ended in a NaN or infinite loss or gradient; the parameters
    /// are those after step `lastGoodStep` (nil: none was good).
    case nonFinite(step: Int, consecutive: Int, lastGoodStep: Int?)
    /// A checkpoint could not be read or does not fit this trainer.
    case checkpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case .nonFinite(let step, let consecutive, let last):
            "training stopped at step \(step): \(consecutive) consecutive steps had a non-finite loss or gradient"
                + (last.map { " (last good step \($0))" } ?? " (no good step yet)")
        case .checkpoint(let path, let reason): "checkpoint \(path): \(reason)"
        }
    }
}

/// Why ``Trainer/run(steps:callbacks:)`` returned.
public enum StopReason: Sendable, Equatable {
    case completed
    case requested(String)
}

/// A run's outcome.
public struct TrainingSummary: Sendable {
    public var stepsTaken: Int
    public var skippedSteps: Int
    public var lastResult: StepResult?
    public var stopReason: StopReason
}

/// Trains the modules of a ``TrainingObjective``: Adam (PyTorch semantics), a cosine schedule
/// over the run, non-finite-loss guarding, an evaluation hook, callbacks, and checkpoints that
/// resume a run exactly.
///
/// ```swift
/// let trainer = Trainer(objective: objective, data: source, configuration: .init(totalSteps: 500), logger: logger)
/// trainer.evaluation = .init(interval: 100) { trainer in ["psnr": myValidationPSNR(trainer.objective)] }
/// let summary = try trainer.run(callbacks: [LoggingCallback(every: 50), PeriodicCheckpoint(every: 100, url: url)])
/// ```
public final class Trainer {
    /// An evaluation run every `interval` steps (after the step), its metrics reported as `eval.<name>`.
    public struct Evaluation {
        public var interval: Int
        public var evaluate: (Trainer) throws -> [String: Double]
        public init(interval: Int, evaluate: @escaping (Trainer) throws -> [String: Double]) {
            precondition(interval > 0, "evaluation interval must be positive")
            self.interval = interval
            self.evaluate = evaluate
        }
    }

    public let objective: any TrainingObjective
    /// The batches (the trainer advances and restores it).
    public internal(set) var data: any BatchSource
    public let configuration: TrainerConfiguration
    public let optimizer: Adam
    public let schedule: any LearningRateSchedule
    /// The objective's trainable modules under one root, keys `<module key>.<parameter key>`.
    public let parameters: ModuleGroup
    public let logger: Logger
    public var evaluation: Evaluation?

    /// Steps taken (skipped ones included): the index of the next step.
    public internal(set) var step = 0
    /// The generator handed to the objective (checkpointed).
    public internal(set) var generator: RandomGenerator
    public internal(set) var consecutiveNonFiniteSteps = 0
    /// The last step whose update was applied.
    public internal(set) var lastGoodStep: Int?

    /// The processes of a data-parallel run (``SingleProcess`` when not distributed).
    public let communicator: any Communicator
    /// Called after each backward pass with the gradients the update uses (averaged over the
    /// processes, before clipping): for checking gradients across launchers and precisions.
    public var gradientObserver: ((_ step: Int, _ gradients: Gradients) -> Void)?
    /// Whether this process's parameters were made equal to rank 0's since they were last set.
    var parametersSynchronized = false
    /// Every this many steps (when set), each loss term is differentiated on its own and its
    /// gradient norm on the ``gradientShareModule``'s parameters is reported as
    /// `grad_norm.<term>`, with `grad_share.<term>` its fraction of the terms' norms summed: which
    /// term drives training. It costs one more backward pass per term on those steps.
    public var gradientShareInterval: Int?
    /// The trained module whose parameters the shares are measured on (the student; when the
    /// objective has no module of that key, all trained parameters).
    public var gradientShareModule = "student"

    /// - Parameters:
    ///   - objective: the loss and the modules it trains.
    ///   - data: the batches (in a data-parallel run, this process's shard of each global batch).
    ///   - configuration: steps, optimizer and schedule.
    ///   - logger: where skipped steps and stops are reported.
    ///   - communicator: the processes of a data-parallel run; gradients, losses and metrics are
    ///     averaged over them and rank 0's parameters are broadcast before the first step.
    public init(objective: any TrainingObjective, data: any BatchSource, configuration: TrainerConfiguration, logger: Logger,
                communicator: any Communicator = SingleProcess()) {
        self.communicator = communicator
        self.objective = objective
        self.data = data
        self.configuration = configuration
        self.logger = logger
        schedule = configuration.schedule
        optimizer = configuration.decoupledWeightDecay == true
            ? AdamW(learningRate: configuration.learningRate, beta1: configuration.beta1, beta2: configuration.beta2,
                    epsilon: configuration.adamEpsilon, weightDecay: configuration.weightDecay)
            : Adam(learningRate: configuration.learningRate, beta1: configuration.beta1, beta2: configuration.beta2,
                   epsilon: configuration.adamEpsilon, weightDecay: configuration.weightDecay)
        parameters = ModuleGroup(objective.trainableModules)
        generator = RandomGenerator(seed: configuration.seed)
    }

    /// One step: draw a batch, compute the loss, back-propagate, update (or skip a non-finite step).
    ///
    /// - Throws: ``TrainingError/nonFinite(step:consecutive:lastGoodStep:)`` once
    ///   ``TrainerConfiguration/maxConsecutiveNonFiniteSteps`` steps in a row were skipped; errors
    ///   of the batch source.
    @discardableResult
    public func takeStep() throws -> StepResult {
        let started = DispatchTime.now().uptimeNanoseconds
        let batch = try data.nextBatch()
        if !parametersSynchronized {
            // A first-batch initialisation (the SCM's least-squares fit) runs here, on rank 0's
            // slice as on every rank's, before rank 0's parameters are given to all.
            objective.prepare(for: batch)
            try communicator.broadcastState(of: parameters)
            parametersSynchronized = true
        }
        let index = step
        let learningRate = schedule.learningRate(at: index)
        let loss = objective.loss(for: batch, generator: &generator)
        var value = loss.total.item
        var terms = loss.terms
        var metrics: [String: Double] = ["learning_rate": learningRate]
        var psnr = loss.prediction.map { Self.psnr($0, batch.clean) }
        var shares = value.isFinite ? termGradientNorms(loss, step: index) : [:]
        var gradients = value.isFinite ? loss.total.backward() : Gradients()
        var finite = value.isFinite
        if communicator.size > 1 {
            // One all-reduce of the scalars decides, on every rank alike, whether the step counts.
            let names = terms.keys.sorted(), shareNames = shares.keys.sorted()
            let local = [finite ? 0 : 1, value, psnr ?? 0] + names.map { terms[$0]! } + shareNames.map { shares[$0]! }
            let communicationStarted = DispatchTime.now().uptimeNanoseconds
            let global = try communicator.allReduceMean(local)
            finite = global[0] == 0
            value = finite ? global[1] : .nan
            if psnr != nil { psnr = global[2] }
            for (k, name) in names.enumerated() { terms[name] = global[3 + k] }
            for (k, name) in shareNames.enumerated() { shares[name] = global[3 + names.count + k] }
            if finite { try communicator.averageGradients(&gradients, of: parameters) }
            // Waiting for the slowest rank counts here too: the share of a step spent outside compute.
            metrics["communication_seconds"] = Double(DispatchTime.now().uptimeNanoseconds - communicationStarted) / 1e9
        }
        if finite {
            gradientObserver?(index, gradients)
            let norm = configuration.gradientClipNorm.map { gradients.clipGlobalNorm(of: parameters, maxNorm: $0) }
                ?? gradients.globalNorm(of: parameters)
            metrics["gradient_norm"] = norm
            finite = norm.isFinite
            if finite {
                optimizer.learningRate = learningRate
                optimizer.update(parameters, gradients: gradients)
            }
        }
        if let psnr { metrics["psnr"] = psnr }
        let normSum = shares.values.reduce(0, +)
        for (name, norm) in shares {
            metrics["grad_norm." + name] = norm
            if normSum > 0 { metrics["grad_share." + name] = norm / normSum }
        }
        step += 1
        if finite {
            consecutiveNonFiniteSteps = 0
            lastGoodStep = index
        } else {
            consecutiveNonFiniteSteps += 1
            logger.warning("skipping step: non-finite loss or gradient",
                           metadata: ["step": "\(index)", "loss": "\(value)", "consecutive": "\(consecutiveNonFiniteSteps)",
                                      "terms": "\(terms.sorted { $0.key < $1.key })"])
            if consecutiveNonFiniteSteps >= configuration.maxConsecutiveNonFiniteSteps {
                logger.error("stopping: too many non-finite steps in a row",
                             metadata: ["step": "\(index)", "consecutive": "\(consecutiveNonFiniteSteps)"])
                throw TrainingError.nonFinite(step: index, consecutive: consecutiveNonFiniteSteps, lastGoodStep: lastGoodStep)
            }
        }
        metrics["seconds"] = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if let evaluation, step % evaluation.interval == 0 {
            for (name, value) in try evaluation.evaluate(self) { metrics["eval." + name] = value }
        }
        return StepResult(step: index, loss: value, terms: terms, metrics: metrics, skipped: !finite)
    }

    /// Each weighted term's gradient norm on the share module's parameters, on the steps
    /// ``gradientShareInterval`` picks (empty otherwise, or for one term).
    private func termGradientNorms(_ loss: StepLoss, step: Int) -> [String: Double] {
        guard let interval = gradientShareInterval, interval > 0, step % interval == 0, loss.weightedTerms.count > 1 else { return [:] }
        let module = objective.trainableModules.first { $0.key == gradientShareModule }?.module ?? parameters
        var norms: [String: Double] = [:]
        for (name, term) in loss.weightedTerms where term.requiresGrad {
            norms[name] = term.backward(retainGraph: true).globalNorm(of: module)
        }
        return norms
    }

    /// Runs `steps` steps (default: to the end of the run), calling `callbacks` after each.
    /// Returns early when a callback asks to stop.
    @discardableResult
    public func run(steps: Int? = nil, callbacks: [any TrainingCallback] = []) throws -> TrainingSummary {
        let target = steps.map { step + $0 } ?? configuration.totalSteps
        for callback in callbacks { try callback.trainerWillStart(self) }
        var summary = TrainingSummary(stepsTaken: 0, skippedSteps: 0, lastResult: nil, stopReason: .completed)
        while step < target {
            let result = try takeStep()
            summary.stepsTaken += 1
            if result.skipped { summary.skippedSteps += 1 }
            summary.lastResult = result
            var stop: String?
            for callback in callbacks {
                if case .stop(let reason) = try callback.trainer(self, didComplete: result), stop == nil { stop = reason }
            }
            if let stop {
                logger.info("stopping early", metadata: ["step": "\(result.step)", "reason": "\(stop)"])
                summary.stopReason = .requested(stop)
                break
            }
        }
        for callback in callbacks { try callback.trainerDidFinish(self, summary: summary) }
        return summary
    }

    /// Mean PSNR (dB, peak 1) of a B×C×H×W prediction against its target, over the batch, with
    /// the prediction clamped to [0, 1].
    public static func psnr(_ prediction: Tensor, _ target: Tensor) -> Double {
        withoutGradients {
            let b = prediction.shape[0]
            let mse = (prediction.clamp(min: 0, max: 1) - target).squared().reshaped([b, -1]).mean(axis: 1).doubles
            return mse.map { 10 * Foundation.log10(1 / Swift.max($0, 1e-20)) }.reduce(0, +) / Double(b)
        }
    }
}

/// Several modules under one root, so that one optimizer and one state dictionary cover them
/// with keys `<key>.<parameter>` (`student.encoder_level1.0.weight`, `scm.student.0.bias`).
public final class ModuleGroup: Module {
    public let members: [(key: String, module: Module)]

    public init(_ members: [(key: String, module: Module)]) {
        precondition(Set(members.map(\.key)).count == members.count, "module group keys must be distinct")
        self.members = members
        super.init()
    }

    public override var namedChildren: [(key: String, module: Module)] { members }
    public override var namedSlots: [(key: String, slot: ParameterSlot)] { [] }
}
