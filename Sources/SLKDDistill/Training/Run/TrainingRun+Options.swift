import Foundation
import Logging
import SLKDModels
import SLKDTensor

extension TrainingRun {
    /// What an options file trains.
    public enum Task: Sendable {
        /// `network_g` supervised on the ground truth with `train.pixel_opt` (`slkd train`).
        case train
        /// `network_g` as the student of `network_teacher` (and `network_teacher_b`) by the
        /// `distill` section's method (`slkd distill`).
        case distill
    }

    /// The run a BasicSR options file describes, set up as `slkd train` (`task: .train`) or
    /// `slkd distill` (`task: .distill`) runs it: networks built and their weights loaded, the
    /// paired folders scanned, validation every `val.val_freq` steps, and every file of
    /// ``TrainingOutputs`` under `path.experiments_root`, including the log file that the run's
    /// logger writes.
    ///
    /// - Parameters:
    ///   - options: the parsed options.
    ///   - task: supervised training or distillation.
    ///   - communicator: the processes of a data-parallel run: each takes `batch_size_per_gpu`
    ///     samples of every global batch, validation images are split among them, and rank 0
    ///     alone writes files and logs.
    ///   - prefetch: batches loaded ahead on a background thread (0: none).
    ///   - echo: whether log lines are also printed to standard output.
    ///   - loadWeights: how weights files are read.
    /// - Throws: ``TrainingSetupError`` naming the file, folder or key at fault.
    public convenience init(options: TrainingOptions, task: Task, communicator: any Communicator = SingleProcess(),
                            prefetch: Int = 2, echo: Bool = true,
                            loadWeights: WeightsLoader = .standard) throws(TrainingSetupError) {
        let folder = options.experimentsFolder
        let shard = communicator.shard
        // BasicSR's habit: rank 0 logs (to the terminal and the run's log file), the others keep quiet.
        let logFile = shard.rank != 0 ? nil : try TrainingSetupError.naming(folder.path) {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return try LogFile(url: folder.appendingPathComponent(LogFile.trainingLogName(run: options.name)))
        }
        let logger = Logger(label: "slkd.train") { _ in PlainLogHandler(file: logFile, echo: echo && shard.rank == 0) }
        for warning in options.unsupportedSettings { logger.warning("\(warning)") }

        let network = try Self.network(options.network, section: "network_g", seed: options.seed,
                                       weights: options.pretrainedWeights, loadWeights: loadWeights)
        let objective: any TrainingObjective
        switch task {
        case .train:
            objective = SupervisedObjective(model: network, pixelLoss: options.pixelLoss)
        case .distill:
            let teachers = try Self.teachers(options, loadWeights: loadWeights)
            var generator = RandomGenerator(seed: options.seed &+ 1)
            objective = try options.distillation.objective(student: network, teacherA: teachers.a, teacherB: teachers.b,
                                                           using: &generator)
        }
        let data = options.trainData
        let pairs = try TrainingSetupError.naming(data.degradedFolder.path) { try data.dataset() }
        let augmentation = PatchAugmentation(patchSize: data.patchSize ?? 128, flips: data.flips, rotations: data.rotations,
                                             smallImages: .reflectPad)
        let source = try TrainingSetupError.naming(data.degradedFolder.path) {
            try PairedDatasetBatchSource(dataset: pairs, batchSize: data.batchSize, augmentation: augmentation,
                                         shuffles: data.shuffle, seed: options.seed, shard: shard, prefetch: prefetch)
        }
        let outputs = TrainingOutputs(folder: folder,
                                      checkpointInterval: options.checkpointInterval ?? max(options.trainer.totalSteps / 10, 1),
                                      keptSnapshots: options.keptSnapshots, tensorBoard: options.usesTensorBoard)
        self.init(network: network, objective: objective, data: source, configuration: options.trainer, outputs: outputs,
                  logger: logger, communicator: communicator)
        trainer.gradientShareInterval = options.gradientShareInterval
        if let validation = options.validationData, let interval = options.validationInterval, interval > 0 {
            let validationPairs = try TrainingSetupError.naming(validation.degradedFolder.path) { try validation.dataset() }
            evaluation = Self.validation(of: network, on: validationPairs, name: validation.name, every: interval)
        }
        let batch = shard.count > 1 ? "\(data.batchSize) per process × \(shard.count) processes" : "\(data.batchSize)"
        logger.info("""
            training \(options.name): \(pairs.count) pairs from \(data.degradedFolder.path), \
            batch \(batch) × \(augmentation.patchSize)², \(options.trainer.totalSteps) steps; \
            checkpoints in \(outputs.checkpointURL.path)
            """)
    }

    /// Mean PSNR and SSIM of `network` on whole validation images. In a data-parallel run each
    /// process scores every `size`-th image and the sums are reduced.
    static func validation(of network: any RestorationModel, on pairs: any PairedDataset, name: String,
                           every interval: Int) -> Trainer.Evaluation {
        .init(interval: interval) { trainer in
            network.eval()
            defer { network.train() }
            let shard = trainer.communicator.shard
            let mine = ShardedPairedDataset(pairs, shard: shard)
            let report = try TestSetEvaluation.run(mine, name: name) { try restore(image: $0, with: network) }
            var sums = [report.images.reduce(0) { $0 + $1.psnr }, report.images.reduce(0) { $0 + $1.ssim }]
            try sums.withUnsafeMutableBufferPointer { try trainer.communicator.allReduceSum($0) }
            return ["psnr": sums[0] / Double(pairs.count), "ssim": sums[1] / Double(pairs.count)]
        }
    }

    /// A network section built, with its weights loaded when a file is given.
    static func network(_ section: [String: Any], section key: String, seed: UInt64 = 0, weights: URL?,
                        loadWeights: WeightsLoader) throws(TrainingSetupError) -> any RestorationModel {
        let model = try TrainingSetupError.naming(key) { try NetworkOptions.build(network: section, section: key, seed: seed) }
        if let weights {
            try TrainingSetupError.naming(weights.path) { try loadWeights.load(weights, model, key) }
        }
        return model
    }

    /// Teacher A and the optional separate teacher B of a distillation, with their weights; none
    /// when the method trains the student alone.
    static func teachers(_ options: TrainingOptions,
                         loadWeights: WeightsLoader) throws(TrainingSetupError) -> (a: (any RestorationModel)?, b: (any RestorationModel)?) {
        let method = options.distillation.method
        guard method != .studentAlone else { return (nil, nil) }
        guard let section = options.teacher else {
            throw TrainingSetupError("network_teacher", "method '\(method.reportName)' needs this section")
        }
        let a: any RestorationModel
        if let bundled = bundledName(section) {
            a = try TrainingSetupError.naming("network_teacher") { try BundledWeights.named(bundled).loadModel() }
        } else {
            guard let weights = options.teacherWeights else {
                throw TrainingSetupError("path.pretrain_network_teacher", "the teacher's weights are missing")
            }
            a = try network(section, section: "network_teacher", weights: weights, loadWeights: loadWeights)
        }
        guard let sectionB = options.teacherB else { return (a, nil) }
        guard let weightsB = options.teacherBWeights else {
            throw TrainingSetupError("path.pretrain_network_teacher_b", "teacher B's weights are missing")
        }
        return (a, try network(sectionB, section: "network_teacher_b", weights: weightsB, loadWeights: loadWeights))
    }

    /// The name in `network_teacher: {type: bundled, name: demo-teacher}`, the form that takes
    /// the network and its weights from ``BundledWeights``.
    static func bundledName(_ section: [String: Any]) -> String? {
        guard section["type"] as? String == "bundled" else { return nil }
        return section["name"] as? String ?? ""
    }
}
