import Foundation
import Logging
import SLKDModels
import SLKDTensor

/// The whole SLKD job on the bundled sample images, end to end: make degraded/clean pairs, obtain
/// a teacher (load it, or train it supervised), train every compared method from the same student
/// initialisation on the same data and budget, and evaluate all of them on held-out images.
///
/// This is what `slkd demo` runs; Swift code can run it too and draw its own report from the
/// ``ExperimentOutcome``.
///
/// ```swift
/// let experiment = try DistillationExperiment(settings: .quick, logger: logger)
/// let outcome = try experiment.run { event in print(event) }
/// for method in outcome.methods { print(method.name, method.evaluation.mean.psnr) }
/// ```
public final class DistillationExperiment {
    /// Progress, reported as it happens.
    public enum Event: Sendable {
        /// A training phase begins (`teacher`, or a method's report name) with this many steps.
        case trainingStarted(phase: String, steps: Int)
        /// A training step finished.
        case trainingStep(phase: String, step: Int, steps: Int, loss: Double)
        /// The teacher was loaded from a file instead of trained.
        case teacherLoaded(path: String)
        /// The held-out images are being restored and scored by `phase`.
        case evaluating(phase: String)
    }

    public let settings: ExperimentSettings
    public let logger: Logger
    /// Clean training images (C×H×W in [0, 1]) and their names.
    public let trainingImages: [(name: String, pixels: Tensor)]
    /// The held-out pairs every method is scored on (degradations drawn once, fixed by the seed).
    public let heldOut: [ImagePair]

    /// Splits the sample images and draws the held-out degradations.
    ///
    /// - Throws: ``ExperimentError`` when a held-out image is not among the sample images or no
    ///   training image is left or two methods share a name; ``DatasetError`` when a sample image cannot be read.
    public init(settings: ExperimentSettings = .init(), images: [URL] = SampleImages.urls, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        var methodNames = Set<String>()
        for method in settings.methods where !methodNames.insert(method.name).inserted {
            throw ExperimentError.duplicateMethodName(method.name)
        }
        let names = Set(images.map(\.lastPathComponent))
        for name in settings.heldOutImages where !names.contains(name) {
            throw ExperimentError.unknownHeldOutImage(name, available: names.sorted())
        }
        var training: [(name: String, pixels: Tensor)] = []
        var evaluation: [(name: String, pixels: Tensor)] = []
        for url in images {
            let pixels = try FolderPairedDataset.read(url, channels: .rgb)
            if settings.heldOutImages.contains(url.lastPathComponent) {
                evaluation.append((url.lastPathComponent, Self.centreCrop(pixels, side: settings.evaluationCrop)))
            } else {
                guard pixels.shape[1] >= settings.patchSize, pixels.shape[2] >= settings.patchSize else {
                    throw ExperimentError.imageSmallerThanPatch(url.lastPathComponent, patch: settings.patchSize)
                }
                training.append((url.lastPathComponent, pixels))
            }
        }
        guard !training.isEmpty else { throw ExperimentError.noTrainingImages }
        trainingImages = training
        let fixed = SyntheticPairedDataset(cleanImages: evaluation, degradation: Self.degradation(settings),
                                           seed: settings.seed &+ 0xE7A1, redrawsEachEpoch: false)
        heldOut = try (0..<fixed.count).map { try fixed.pair(at: $0) }
    }

    /// Rain streaks, then Gaussian sensor noise.
    public static func degradation(_ settings: ExperimentSettings) -> DegradationPipeline {
        DegradationPipeline([RainStreaks(density: settings.rainDensity), GaussianNoise(sigma: settings.noiseSigma)])
    }

    /// Runs the teacher phase and every method; see ``ExperimentOutcome``.
    ///
    /// - Parameters:
    ///   - teacherWeights: a safetensors file with the teacher's weights (official key names);
    ///     when nil the teacher is trained here for ``ExperimentSettings/teacherSteps`` steps.
    ///   - saveTrainedTeacher: where a teacher trained here is written (``DemoTeacher/save(_:settings:to:)``)
    ///     as soon as it is trained, before the students start.
    ///   - progress: called on this thread after every step and phase change.
    public func run(teacherWeights: URL? = nil, saveTrainedTeacher: URL? = nil,
                    progress: (Event) -> Void = { _ in }) throws -> ExperimentOutcome {
        var results: [MethodOutcome] = []
        let teacher = try obtainTeacher(weights: teacherWeights, progress: progress)
        if teacherWeights == nil, let saveTrainedTeacher {
            try DemoTeacher.save(teacher.model, settings: settings, to: saveTrainedTeacher)
        }
        results.append(try evaluate(teacher, name: "teacher", label: "Teacher", progress: progress))
        for method in settings.methods {
            let trained = try train(method, teacher: teacher.model, progress: progress)
            results.append(try evaluate(trained, name: method.name, label: method.label, progress: progress))
        }
        return ExperimentOutcome(settings: settings, heldOut: heldOut, methods: results)
    }

    // MARK: Phases

    struct TrainedModel {
        var model: any RestorationModel
        var losses: [Double]
        var trainingPSNR: [Double]
        var seconds: Double
        var gradientShares: [String: Double] = [:]
    }

    private func obtainTeacher(weights: URL?, progress: (Event) -> Void) throws -> TrainedModel {
        var generator = RandomGenerator.derived(from: settings.seed, 1)
        let teacher = Restormer(settings.teacher, using: &generator)
        if let weights {
            let contents = try SafeTensors.read(from: weights)
            try teacher.loadStateDictionary(contents.tensors)
            teacher.eval()
            progress(.teacherLoaded(path: weights.path))
            return TrainedModel(model: teacher, losses: [], trainingPSNR: [], seconds: 0)
        }
        let objective = SupervisedObjective(model: teacher, pixelLoss: .l1)
        return try fit(objective, model: teacher, phase: "teacher", steps: settings.teacherSteps,
                       learningRate: settings.teacherLearningRate, dataSeed: 2, progress: progress)
    }

    private func train(_ method: ComparedMethod, teacher: any RestorationModel,
                       progress: (Event) -> Void) throws -> TrainedModel {
        // The same initialisation and the same batches for every method: only the loss differs.
        var generator = RandomGenerator.derived(from: settings.seed, 3)
        let student = Restormer(settings.student, using: &generator)
        var scmGenerator = RandomGenerator.derived(from: settings.seed, 4)
        var configuration = method.configuration
        if configuration.method == .dfkd, configuration.dfkd == nil, settings.patchSize % 4 == 0 {
            configuration.dfkd = .init()
            configuration.dfkd?.imageSize = settings.patchSize  // generate images of the training patches' size
        }
        let objective = try configuration.objective(student: student, teacherA: teacher, using: &scmGenerator)
        return try fit(objective, model: student, phase: method.name, steps: settings.studentSteps,
                       learningRate: settings.learningRate, dataSeed: 5, progress: progress)
    }

    private func fit(_ objective: any TrainingObjective, model: any RestorationModel, phase: String, steps: Int,
                     learningRate: Double, dataSeed: UInt64, progress: (Event) -> Void) throws -> TrainedModel {
        var dataGenerator = RandomGenerator.derived(from: settings.seed, dataSeed)
        let source = try trainingSource(seed: dataGenerator.next())
        var configuration = TrainerConfiguration(totalSteps: steps)
        configuration.learningRate = learningRate
        configuration.minimumLearningRate = settings.minimumLearningRate
        configuration.seed = settings.seed
        let run = TrainingRun(network: model, objective: objective, data: source, configuration: configuration, logger: logger)
        if phase != "teacher" { run.trainer.gradientShareInterval = settings.gradientShareInterval }
        progress(.trainingStarted(phase: phase, steps: steps))
        let started = DispatchTime.now().uptimeNanoseconds
        let record = StepRecord()
        try withoutActuallyEscaping(progress) { progress in
            record.report = { result in progress(.trainingStep(phase: phase, step: result.step + 1, steps: steps, loss: result.loss)) }
            defer { record.report = nil }
            try run.run(callbacks: [record])
        }
        let (losses, psnr, shares) = (record.losses, record.psnr, record.meanShares)
        model.eval()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        logger.info("trained", metadata: ["phase": "\(phase)", "steps": "\(steps)", "seconds": "\(seconds)"])
        return TrainedModel(model: model, losses: losses, trainingPSNR: psnr, seconds: seconds, gradientShares: shares)
    }

    /// A pool of random patches (fresh degradation draws) cut from the training images,
    /// reshuffled and randomly flipped every epoch by the ``PairedBatchSampler``.
    ///
    /// Each patch is the centre of a random window a little larger than the patch, and only the
    /// window is degraded: streaks and noise then cost the window, not the whole image, while
    /// the streak kernels still see real pixels around the patch.
    func trainingSource(seed: UInt64) throws -> PairedBatchSampler {
        let p = settings.patchSize, margin = 16
        var dataset = SyntheticPairedDataset(cleanImages: trainingImages, degradation: Self.degradation(settings),
                                             seed: seed, redrawsEachEpoch: true)
        dataset.window = p + 2 * margin
        var pairs: [(degraded: Tensor, clean: Tensor)] = []
        for round in 0..<settings.patchesPerImage {
            for index in 0..<dataset.count {
                let pair = try dataset.pair(at: index, epoch: round)
                let top = (pair.clean.shape[1] - p) / 2, left = (pair.clean.shape[2] - p) / 2
                func cut(_ t: Tensor) -> Tensor {
                    t.narrowed(axis: 1, start: top, length: p).narrowed(axis: 2, start: left, length: p).contiguous()
                }
                pairs.append((cut(pair.degraded), cut(pair.clean)))
            }
        }
        return try PairedBatchSampler(dataset: try InMemoryPairedDataset(pairs: pairs), batchSize: settings.batchSize,
                                      augmentation: PatchAugmentation(patchSize: p, flips: true, rotations: false), seed: seed)
    }

    private func evaluate(_ trained: TrainedModel, name: String, label: String,
                          progress: (Event) -> Void) throws -> MethodOutcome {
        progress(.evaluating(phase: name))
        let model = trained.model
        model.eval()
        var restored: [Tensor] = []
        var scores: [EvaluationReport.ImageScore] = []
        let options = EvaluationOptions(testYChannel: false, cropBorder: 0, quantizeTo8Bit: true)
        for pair in heldOut {
            let output = try withoutGradients { try restore(image: pair.degraded, with: model) }
            restored.append(output)
            scores.append(try TestSetEvaluation.score(output, against: pair.clean, name: pair.name, options: options))
        }
        let side = settings.patchSize
        let macs = withoutGradients {
            MACCounter.count { _ = model(Tensor.zeros([1, 3, side, side], dtype: .float32)) }.total
        }
        return MethodOutcome(name: name, label: label, model: model, parameters: model.parameterCount, macs: macs,
                             macsInput: [1, 3, side, side], evaluation: EvaluationReport(dataset: "held-out sample images",
                                                                                          options: options, images: scores),
                             restored: restored, losses: trained.losses, trainingPSNR: trained.trainingPSNR,
                             trainingSeconds: trained.seconds, gradientShares: trained.gradientShares)
    }

    static func centreCrop(_ image: Tensor, side: Int?) -> Tensor {
        guard let side else { return image }
        let (h, w) = (image.shape[1], image.shape[2])
        let ch = Swift.min(side, h), cw = Swift.min(side, w)
        return image.narrowed(axis: 1, start: (h - ch) / 2, length: ch).narrowed(axis: 2, start: (w - cw) / 2, length: cw)
            .contiguous()
    }
}

/// Keeps each step's loss and batch PSNR, and reports the step as it happens.
private final class StepRecord: TrainingCallback {
    var losses: [Double] = []
    var psnr: [Double] = []
    var report: ((StepResult) -> Void)?
    /// The measured `grad_share.<term>` values, by term.
    var shares: [String: [Double]] = [:]

    /// Each term's mean share over the steps it was measured on.
    var meanShares: [String: Double] { shares.mapValues { $0.reduce(0, +) / Double($0.count) } }

    func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        losses.append(result.loss)
        psnr.append(result.metrics["psnr"] ?? .nan)
        for (key, value) in result.metrics where key.hasPrefix("grad_share.") {
            shares[String(key.dropFirst("grad_share.".count)), default: []].append(value)
        }
        report?(result)
        return .continue
    }
}

/// One trained (or loaded) network of an experiment and how it scored.
public struct MethodOutcome {
    /// `teacher`, or a ``ComparedMethod`` name (`student_alone`, `output_kd`, `slkd`, `fitnets`, `dfkd`, `dckd`, …).
    public var name: String
    public var label: String
    public var model: any RestorationModel
    public var parameters: Int
    /// Multiply–accumulates of one forward pass at ``macsInput`` (fvcore convention).
    public var macs: Int
    public var macsInput: [Int]
    /// PSNR/SSIM (RGB, 8-bit) per held-out image and on average.
    public var evaluation: EvaluationReport
    /// The restored held-out images, in the order of ``ExperimentOutcome/heldOut``.
    public var restored: [Tensor]
    /// The training loss of every step (empty for a loaded teacher).
    public var losses: [Double]
    /// The training batch PSNR (dB, against the clean patches) of every step.
    public var trainingPSNR: [Double]
    public var trainingSeconds: Double
    /// Each loss term's mean share of the student's gradient norm over the measured steps
    /// (``ExperimentSettings/gradientShareInterval``; empty when not measured or for one term).
    public var gradientShares: [String: Double] = [:]
}

/// Everything an experiment produced.
public struct ExperimentOutcome {
    public var settings: ExperimentSettings
    public var heldOut: [ImagePair]
    /// The teacher first, then the methods in ``ExperimentSettings/methods`` order.
    public var methods: [MethodOutcome]

    /// The outcome named `name`, if it ran.
    public func method(_ name: String) -> MethodOutcome? { methods.first { $0.name == name } }
}

/// Why an experiment could not be set up.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    case unknownHeldOutImage(String, available: [String])
    case imageSmallerThanPatch(String, patch: Int)
    case noTrainingImages
    case duplicateMethodName(String)

    public var description: String {
        switch self {
        case .unknownHeldOutImage(let name, let available):
            "held-out image '\(name)' is not among the images (\(available.joined(separator: ", ")))"
        case .imageSmallerThanPatch(let name, let patch):
            "training image '\(name)' is smaller than the \(patch)×\(patch) patch"
        case .noTrainingImages:
            "every image is held out: nothing is left to train on"
        case .duplicateMethodName(let name):
            "two compared methods are both named '\(name)': reports key methods by name"
        }
    }
}
