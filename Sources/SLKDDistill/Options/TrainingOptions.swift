import Foundation
import SLKDModels
import Yams

/// A BasicSR-style YAML options file, as `slkd train` and `slkd distill` read it.
///
/// The sections and keys are BasicSR's (`name`, `manual_seed`, `network_g`, `datasets.train`,
/// `datasets.val`, `train.total_iter`, `train.optim_g`, `train.scheduler`, `train.pixel_opt`,
/// `train.use_grad_clip`, `val.val_freq`, `logger.save_checkpoint_freq`, `path`), so an official
/// Restormer or DRSformer file works once its dataset paths point at PNG folders. Distillation
/// adds `network_teacher` (teacher A), optionally `network_teacher_b`, their weights in
/// `path.pretrain_network_teacher(_b)`, and a `distill` section whose keys are the fields of
/// ``DistillationConfiguration`` in snake case (`method: slkd`, `kl_weight: 0.5`, …).
///
/// Relative paths are resolved against the current folder, as BasicSR's `train.py` does (its
/// official files say `./Datasets/...` and are run from the repository root). Keys SLKD does not use
/// (`num_gpu`, `io_backend`, `mixing_augs`, …) are ignored; known keys with unusable values are
/// errors naming the key.
public struct TrainingOptions {
    /// A paired-folder dataset section (`datasets.train` or `datasets.val`).
    public struct DataOptions: Sendable, Equatable {
        public var name: String
        /// `dataroot_lq`: the degraded images.
        public var degradedFolder: URL
        /// `dataroot_gt`: the clean images, matched by file name.
        public var cleanFolder: URL
        /// `gt_size`: the training patch side (nil for validation: whole images).
        public var patchSize: Int?
        /// `batch_size_per_gpu`.
        public var batchSize: Int
        /// `geometric_augs` (Restormer) or `use_flip`/`use_rot` (BasicSR).
        public var flips: Bool
        public var rotations: Bool
        /// `use_shuffle`.
        public var shuffle: Bool

        /// The folders as a ``FolderPairedDataset`` (scanned now; unmatched files are an error).
        public func dataset(channels: ImageIO.Channels = .rgb) throws(DatasetError) -> FolderPairedDataset {
            let root = URL(fileURLWithPath: "/", isDirectory: true)
            func relative(_ url: URL) -> String { String(url.standardizedFileURL.path.drop { $0 == "/" }) }
            return try FolderPairedDataset(root: root, layout: PairedFolderLayout(degradedFolder: relative(degradedFolder),
                                                                                  cleanFolder: relative(cleanFolder)),
                                           channels: channels)
        }
    }

    /// `name`: the run's name (its folder under the experiments root).
    public var name: String
    /// `manual_seed`.
    public var seed: UInt64
    /// `network_g`: the network trained (the teacher for `slkd train`, the student for `slkd distill`).
    public var network: [String: Any]
    /// `network_teacher`: teacher A (distillation only).
    public var teacher: [String: Any]?
    /// `network_teacher_b`: a separate teacher B (default: teacher A's weights).
    public var teacherB: [String: Any]?
    public var trainData: DataOptions
    public var validationData: DataOptions?
    /// Steps, optimizer, schedule and clipping.
    public var trainer: TrainerConfiguration
    /// `train.pixel_opt` (L1Loss or CharbonnierLoss).
    public var pixelLoss: PixelLossKind
    /// `distill`: the method and its weights (SLKD by default).
    public var distillation: DistillationConfiguration
    /// `val.val_freq`.
    public var validationInterval: Int?
    /// `logger.save_checkpoint_freq`.
    public var checkpointInterval: Int?
    /// `logger.print_freq`.
    public var printInterval: Int
    /// `logger.keep_checkpoints`: how many `net_g_<step>.safetensors` snapshots to keep (all when absent).
    public var keptSnapshots: Int?
    /// `logger.grad_share_freq`: every this many steps, log each loss term's share of the
    /// student's gradient norm (``Trainer/gradientShareInterval``; off when absent).
    public var gradientShareInterval: Int?
    /// `logger.use_tb_logger`: write TensorBoard events under `tb_logger/` of the experiments folder.
    public var usesTensorBoard: Bool
    /// Keys the options set that SLKD reads but does not act on, each with the reason (BasicSR's
    /// `logger.wandb`), for the tool to warn about.
    public var unsupportedSettings: [String]
    /// `path.experiments_root` (default `experiments/<name>` in the current folder).
    public var experimentsFolder: URL
    /// `path.pretrain_network_g`.
    public var pretrainedWeights: URL?
    /// `path.pretrain_network_teacher` and `path.pretrain_network_teacher_b`.
    public var teacherWeights: URL?
    public var teacherBWeights: URL?
    /// `path.resume_state`.
    public var resumeState: URL?

    /// Reads the options file at `url`; relative paths in it are taken from the current folder.
    ///
    /// The file is read within `BoundedYAML/Limits/options` (size, nesting, aliases).
    public static func load(contentsOf url: URL) throws(OptionsError) -> TrainingOptions {
        let data: Data
        do { data = try InputFile.read(url, maximumBytes: BoundedYAML.Limits.options.maximumBytes) } catch {
            throw OptionsError(file: url.path, error.reason)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw OptionsError(file: url.path, "not UTF-8 text") }
        return try TrainingOptions(yaml: text, baseFolder: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                                   file: url.path)
    }

    /// Parses options text; relative paths are resolved against `baseFolder`.
    ///
    /// Every numeric value is checked against ``OptionsLimits`` (and `network_g`,
    /// `network_teacher`, `network_teacher_b` against `ConfigurationLimits`), so that a value
    /// read from a file ends in an ``OptionsError`` naming its dotted key, never in a trap.
    public init(yaml: String, baseFolder: URL, file: String = "options") throws(OptionsError) {
        let parsed = try BoundedYAML.load(yaml, file: file)
        guard let root = parsed as? [String: Any] else { throw OptionsError(file: file, "the file is not a YAML mapping") }
        let reader = OptionsReader(file: file, base: baseFolder)
        name = try reader.string(root, "name") ?? "slkd_run"
        seed = UInt64(try reader.int(root, "manual_seed", key: "manual_seed", in: OptionsLimits.seed) ?? 0)
        guard let network = root["network_g"] as? [String: Any] else { throw OptionsError(file: file, "no 'network_g' section") }
        self.network = network
        teacher = try reader.section(root, "network_teacher")
        teacherB = try reader.section(root, "network_teacher_b")
        let described: [(String, [String: Any]?)] = [("network_g", network), ("network_teacher", teacher), ("network_teacher_b", teacherB)]
        var configurations: [(section: String, configuration: NetworkOptions.Configuration)] = []
        for (section, description) in described {
            guard let description else { continue }
            // Bundled weights bring their own network, checked when the file is built.
            if section != "network_g", description["type"] as? String == "bundled" {
                let name = description["name"] as? String ?? ""
                guard BundledWeights.names.contains(name) else {
                    throw OptionsError(file: file, "'\(section).name' is '\(name)', not one of the bundled weights: \(BundledWeights.names.joined(separator: ", "))")
                }
                continue
            }
            do { configurations.append((section, try NetworkOptions.validate(network: description, section: section))) } catch {
                throw OptionsError(file: file, error.description)
            }
        }
        // Teachers see the student's batches and are compared with its output.
        let student = configurations[0].configuration.channels
        for (section, c) in configurations.dropFirst() where c.channels != student {
            throw OptionsError(file: file, "'\(section)' maps \(c.channels.input) to \(c.channels.output) channels, "
                               + "'network_g' \(student.input) to \(student.output)")
        }
        let networkWidth = configurations.map(\.configuration.width).max() ?? 0
        let sizeMultiple = configurations.map(\.configuration.sizeMultiple).max() ?? 1

        let datasets = try reader.section(root, "datasets")
        guard let train = datasets?["train"] as? [String: Any] else {
            throw OptionsError(file: file, "no 'datasets.train' section")
        }
        trainData = try reader.data(train, key: "datasets.train", training: true)
        if let patch = trainData.patchSize, configurations.contains(where: { patch % $0.configuration.sizeMultiple != 0 }) {
            throw OptionsError(file: file, "'datasets.train.gt_size' (\(patch)) must be a multiple of \(sizeMultiple), "
                               + "the side multiple of the networks it trains")
        }
        validationData = try (datasets?["val"] as? [String: Any]).map { (section: [String: Any]) throws(OptionsError) -> DataOptions in
            try reader.data(section, key: "datasets.val", training: false)
        }

        guard let trainSection = try reader.section(root, "train") else { throw OptionsError(file: file, "no 'train' section") }
        guard let totalSteps = try reader.int(trainSection, "total_iter", key: "train.total_iter", in: OptionsLimits.steps) else {
            throw OptionsError(file: file, "'train.total_iter' must be given")
        }
        // Refuses absurd batch × patch × width combinations before anything is allocated.
        let activation = OptionsLimits.activationBytes(batch: trainData.batchSize, patch: trainData.patchSize ?? 0, width: networkWidth)
        guard activation <= OptionsLimits.maximumActivationBytes else {
            throw OptionsError(file: file, "'datasets.train': batch \(trainData.batchSize) × patch \(trainData.patchSize ?? 0)² × width "
                               + "\(networkWidth) needs about \(Int(activation / 1_073_741_824)) GiB of activations per step, over the "
                               + "\(Int(OptionsLimits.maximumActivationBytes / 1_073_741_824)) GiB limit")
        }
        var trainer = TrainerConfiguration(totalSteps: totalSteps)
        trainer.seed = seed
        if let optimizer = try reader.section(trainSection, "optim_g", key: "train.optim_g") {
            let type = try reader.string(optimizer, "type", key: "train.optim_g.type") ?? "Adam"
            switch type {
            case "Adam": trainer.decoupledWeightDecay = nil
            case "AdamW": trainer.decoupledWeightDecay = true
            default: throw OptionsError(file: file, "'train.optim_g.type' is '\(type)'; SLKD trains with Adam or AdamW")
            }
            trainer.learningRate = try reader.double(optimizer, "lr", key: "train.optim_g.lr", in: OptionsLimits.learningRate) ?? trainer.learningRate
            trainer.weightDecay = try reader.double(optimizer, "weight_decay", key: "train.optim_g.weight_decay", in: OptionsLimits.weightDecay) ?? 0
            if let betas = try reader.doubles(optimizer, "betas", key: "train.optim_g.betas", in: OptionsLimits.beta) {
                guard betas.count == 2 else { throw OptionsError(file: file, "'train.optim_g.betas' needs two numbers") }
                (trainer.beta1, trainer.beta2) = (betas[0], betas[1])
            }
        }
        if let scheduler = try reader.section(trainSection, "scheduler", key: "train.scheduler") {
            try reader.schedule(scheduler, into: &trainer)
        }
        if try reader.bool(trainSection, "use_grad_clip", key: "train.use_grad_clip") == true {
            // Restormer's training code clips with max_norm 0.01.
            trainer.gradientClipNorm = try reader.double(trainSection, "grad_clip_norm", key: "train.grad_clip_norm",
                                                        in: OptionsLimits.positiveScale) ?? 0.01
        }
        self.trainer = trainer
        pixelLoss = .l1
        if let pixel = try reader.section(trainSection, "pixel_opt", key: "train.pixel_opt") {
            switch try reader.string(pixel, "type", key: "train.pixel_opt.type") ?? "L1Loss" {
            case "L1Loss": pixelLoss = .l1
            case "CharbonnierLoss":
                pixelLoss = .charbonnier(epsilon: try reader.double(pixel, "eps", key: "train.pixel_opt.eps", in: OptionsLimits.positiveScale) ?? 1e-3)
            case let other: throw OptionsError(file: file, "'train.pixel_opt.type' is '\(other)'; use L1Loss or CharbonnierLoss")
            }
        }
        distillation = try reader.distillation(try reader.section(root, "distill"))
        distillation.pixelLoss = pixelLoss

        let val = try reader.section(root, "val")
        validationInterval = try val.flatMap { (v: [String: Any]) throws(OptionsError) in try reader.int(v, "val_freq", key: "val.val_freq", in: OptionsLimits.steps) }
        let logger = try reader.section(root, "logger")
        checkpointInterval = try logger.flatMap { (l: [String: Any]) throws(OptionsError) in
            try reader.int(l, "save_checkpoint_freq", key: "logger.save_checkpoint_freq", in: OptionsLimits.steps)
        }
        printInterval = try logger.flatMap { (l: [String: Any]) throws(OptionsError) in try reader.int(l, "print_freq", key: "logger.print_freq", in: OptionsLimits.steps) } ?? 100
        keptSnapshots = try logger.flatMap { (l: [String: Any]) throws(OptionsError) in
            try reader.int(l, "keep_checkpoints", key: "logger.keep_checkpoints", in: OptionsLimits.keptSnapshots)
        }
        gradientShareInterval = try logger.flatMap { (l: [String: Any]) throws(OptionsError) in
            try reader.int(l, "grad_share_freq", key: "logger.grad_share_freq", in: OptionsLimits.steps)
        }
        usesTensorBoard = try logger.flatMap { (l: [String: Any]) throws(OptionsError) in
            try reader.bool(l, "use_tb_logger", key: "logger.use_tb_logger")
        } ?? false
        unsupportedSettings = []
        if let wandb = try logger.flatMap({ (l: [String: Any]) throws(OptionsError) in try reader.section(l, "wandb", key: "logger.wandb") }),
           wandb["project"].map({ !($0 is NSNull) }) ?? false {
            unsupportedSettings.append("logger.wandb: Weights & Biases logging is not supported; use_tb_logger and metrics.jsonl record the same values")
        }
        let path = try reader.section(root, "path")
        experimentsFolder = try reader.url(path, "experiments_root", key: "path.experiments_root")
            ?? baseFolder.appendingPathComponent("experiments").appendingPathComponent(name)
        pretrainedWeights = try reader.url(path, "pretrain_network_g", key: "path.pretrain_network_g")
        teacherWeights = try reader.url(path, "pretrain_network_teacher", key: "path.pretrain_network_teacher")
        teacherBWeights = try reader.url(path, "pretrain_network_teacher_b", key: "path.pretrain_network_teacher_b")
        resumeState = try reader.url(path, "resume_state", key: "path.resume_state")
    }
}

/// A problem in an options file, naming the file and the key: the same error whether the YAML
/// itself (`BoundedYAML`) or a value in it is refused.
public typealias OptionsError = OptionsFileError
