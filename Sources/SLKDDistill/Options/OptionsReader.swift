import Foundation

/// Typed reads from a parsed YAML mapping, each error naming the file and the dotted key.
/// YAML's `~` (null) counts as absent, as BasicSR treats it.
struct OptionsReader {
    let file: String
    let base: URL

    init(file: String, base: URL) {
        self.file = file
        self.base = base
    }

    private func value(_ map: [String: Any], _ name: String) -> Any? {
        guard let v = map[name], !(v is NSNull) else { return nil }
        return v
    }

    private func fail(_ key: String, _ expected: String, _ value: Any) -> OptionsError {
        OptionsError(file: file, "'\(key)' should be \(expected), got '\(value)'")
    }

    func section(_ map: [String: Any], _ name: String, key: String? = nil) throws(OptionsError) -> [String: Any]? {
        guard let v = value(map, name) else { return nil }
        guard let section = v as? [String: Any] else { throw fail(key ?? name, "a mapping", v) }
        return section
    }

    func string(_ map: [String: Any], _ name: String, key: String? = nil) throws(OptionsError) -> String? {
        guard let v = value(map, name) else { return nil }
        guard let s = v as? String else { throw fail(key ?? name, "a string", v) }
        return s
    }

    func double(_ map: [String: Any], _ name: String, key: String? = nil) throws(OptionsError) -> Double? {
        guard let v = value(map, name) else { return nil }
        // YAML 1.1 reads `3e-4` without `!!float` as a string; BasicSR's files tag it, users may not.
        let d: Double
        if let x = v as? Double { d = x }
        else if let i = v as? Int { d = Double(i) }
        else if let s = v as? String, let x = Double(s) { d = x }
        else { throw fail(key ?? name, "a number", v) }
        // NaN and infinities reach schedules and sizes as traps; no option wants them.
        guard d.isFinite else { throw fail(key ?? name, "a finite number", v) }
        return d
    }

    /// A number that must lie in `range`; the error names the key and the range.
    func double(_ map: [String: Any], _ name: String, key: String, in range: ClosedRange<Double>) throws(OptionsError) -> Double? {
        guard let d = try double(map, name, key: key) else { return nil }
        guard range.contains(d) else { throw outside(key, d, "\(range.lowerBound)...\(range.upperBound)") }
        return d
    }

    func int(_ map: [String: Any], _ name: String, key: String? = nil) throws(OptionsError) -> Int? {
        guard let v = value(map, name) else { return nil }
        if let i = v as? Int { return i }
        // `!!float 4e3` (BasicSR's val_freq) is a whole number written as a float.
        if let d = try double(map, name, key: key), d.rounded() == d, abs(d) < 9e15 { return Int(d) }
        throw fail(key ?? name, "an integer", v)
    }

    /// An integer that must lie in `range`; the error names the key and the range.
    func int(_ map: [String: Any], _ name: String, key: String, in range: ClosedRange<Int>) throws(OptionsError) -> Int? {
        // A whole number too large for Int (`1e300`) is out of range rather than "not an integer".
        if value(map, name) is Double || value(map, name) is String, let d = try double(map, name, key: key),
           d.rounded() == d, abs(d) >= 9e15 {
            throw outside(key, d, "\(range.lowerBound)...\(range.upperBound)")
        }
        guard let i = try int(map, name, key: key) else { return nil }
        guard range.contains(i) else { throw outside(key, i, "\(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    /// A list of integers, each in `range`.
    func ints(_ map: [String: Any], _ name: String, key: String, in range: ClosedRange<Int>) throws(OptionsError) -> [Int]? {
        guard let v = value(map, name) else { return nil }
        guard let list = v as? [Any] else { throw fail(key, "a list of integers", v) }
        return try list.indices.map { (i: Int) throws(OptionsError) -> Int in
            try int(["x": list[i]], "x", key: "\(key)[\(i)]", in: range) ?? 0
        }
    }

    private func outside(_ key: String, _ value: Any, _ range: String) -> OptionsError {
        OptionsError(file: file, "'\(key)' must be in \(range), got \(value)")
    }

    func bool(_ map: [String: Any], _ name: String, key: String? = nil) throws(OptionsError) -> Bool? {
        guard let v = value(map, name) else { return nil }
        guard let b = v as? Bool else { throw fail(key ?? name, "true or false", v) }
        return b
    }

    func doubles(_ map: [String: Any], _ name: String, key: String? = nil, in range: ClosedRange<Double>? = nil) throws(OptionsError) -> [Double]? {
        guard let v = value(map, name) else { return nil }
        guard let list = v as? [Any] else { throw fail(key ?? name, "a list of numbers", v) }
        return try list.enumerated().map { (i, element) throws(OptionsError) -> Double in
            let elementKey = "\(key ?? name)[\(i)]"
            guard let d = try double(["x": element], "x", key: elementKey) else { throw fail(key ?? name, "numbers", v) }
            if let range, !range.contains(d) { throw outside(elementKey, d, "\(range.lowerBound)...\(range.upperBound)") }
            return d
        }
    }

    func url(_ map: [String: Any]?, _ name: String, key: String) throws(OptionsError) -> URL? {
        guard let map, let path = try string(map, name, key: key) else { return nil }
        let expanded = NSString(string: path).expandingTildeInPath
        return (expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : base.appendingPathComponent(expanded)).standardizedFileURL
    }

    /// A `datasets.train` or `datasets.val` section.
    func data(_ section: [String: Any], key: String, training: Bool) throws(OptionsError) -> TrainingOptions.DataOptions {
        guard let degraded = try url(section, "dataroot_lq", key: "\(key).dataroot_lq") else {
            throw OptionsError(file: file, "'\(key).dataroot_lq' (the degraded images' folder) is missing")
        }
        guard let clean = try url(section, "dataroot_gt", key: "\(key).dataroot_gt") else {
            throw OptionsError(file: file, "'\(key).dataroot_gt' (the clean images' folder) is missing")
        }
        let patch = try int(section, "gt_size", key: "\(key).gt_size", in: OptionsLimits.patchSide)
        if training && patch == nil {
            throw OptionsError(file: file, "'\(key).gt_size' (the patch side) must be given for training")
        }
        let batch = try int(section, "batch_size_per_gpu", key: "\(key).batch_size_per_gpu", in: OptionsLimits.batchSize)
            ?? (training ? 8 : 1)
        let geometric = try bool(section, "geometric_augs", key: "\(key).geometric_augs")
        let flips = try bool(section, "use_flip", key: "\(key).use_flip") ?? geometric ?? training
        let rotations = try bool(section, "use_rot", key: "\(key).use_rot") ?? geometric ?? training
        return TrainingOptions.DataOptions(
            name: try string(section, "name", key: "\(key).name") ?? key, degradedFolder: degraded, cleanFolder: clean,
            patchSize: training ? patch : nil, batchSize: batch, flips: flips, rotations: rotations,
            shuffle: try bool(section, "use_shuffle", key: "\(key).use_shuffle") ?? training)
    }

    /// `train.scheduler`: BasicSR's cosine schedules.
    func schedule(_ scheduler: [String: Any], into trainer: inout TrainerConfiguration) throws(OptionsError) {
        let type = try string(scheduler, "type", key: "train.scheduler.type") ?? "CosineAnnealingLR"
        switch type {
        case "CosineAnnealingLR":
            if let tMax = try int(scheduler, "T_max", key: "train.scheduler.T_max", in: OptionsLimits.steps), tMax != trainer.totalSteps {
                throw OptionsError(file: file, "'train.scheduler.T_max' (\(tMax)) must equal 'train.total_iter' (\(trainer.totalSteps))")
            }
            trainer.minimumLearningRate = try double(scheduler, "eta_min", key: "train.scheduler.eta_min", in: OptionsLimits.learningRate) ?? 0
        case "CosineAnnealingRestartLR", "CosineAnnealingRestartCyclicLR":
            guard let periods = try ints(scheduler, "periods", key: "train.scheduler.periods", in: OptionsLimits.steps),
                  !periods.isEmpty, periods.count <= OptionsLimits.maximumPeriods else {
                throw OptionsError(file: file, "'train.scheduler.periods' must list 1 to \(OptionsLimits.maximumPeriods) step counts")
            }
            let weights = try doubles(scheduler, "restart_weights", key: "train.scheduler.restart_weights", in: OptionsLimits.restartWeight)
                ?? Array(repeating: 1, count: periods.count)
            let minima: [Double]
            if type == "CosineAnnealingRestartCyclicLR" {
                minima = try doubles(scheduler, "eta_mins", key: "train.scheduler.eta_mins", in: OptionsLimits.learningRate)
                    ?? Array(repeating: 0, count: periods.count)
            } else {
                minima = Array(repeating: try double(scheduler, "eta_min", key: "train.scheduler.eta_min", in: OptionsLimits.learningRate) ?? 0,
                               count: periods.count)
            }
            guard weights.count == periods.count, minima.count == periods.count else {
                throw OptionsError(file: file, "'train.scheduler' needs one restart weight and one minimum per period (\(periods.count))")
            }
            trainer.restarts = .init(periods: periods, restartWeights: weights, minima: minima)
            trainer.minimumLearningRate = minima.last ?? 0
        default:
            throw OptionsError(file: file, "'train.scheduler.type' is '\(type)'; SLKD knows CosineAnnealingLR, "
                               + "CosineAnnealingRestartLR and CosineAnnealingRestartCyclicLR")
        }
    }

    /// The `distill` section over `base` (``DistillationConfiguration``'s defaults for a file;
    /// a demo arm's configuration for `slkd demo --set`).
    func distillation(_ section: [String: Any]?, over base: DistillationConfiguration = DistillationConfiguration())
        throws(OptionsError) -> DistillationConfiguration {
        var c = base
        guard let section else { return c }
        let known: Set<String> = ["method", "pixel_weight", "kl_weight", "degradation_removal_weight", "reconstruction_weight",
                                  "fitnets_weight", "teacher_b_input", "use_degradation_removal", "use_image_reconstruction",
                                  "pixel_target", "kl_temperature", "scm_common_width", "scm_init", "feature_scaling",
                                  "mscn_constant", "piqe_tau", "piqe_tau_min", "piqe_block_size", "brisque_scales",
                                  "dfkd_adversarial_weight", "dfkd_reconstruction_weight", "dfkd_generator_interval",
                                  "dfkd_latent_size", "dfkd_image_size", "dfkd_generator_width", "dfkd_max_noise",
                                  "dfkd_real_data_weight", "dckd_student_to_teacher_weight", "dckd_teacher_to_student_weight",
                                  "dckd_target", "dckd_encoder_cut", "dckd_decoder_cut"]
        if let unknown = section.keys.sorted().first(where: { !known.contains($0) }) {
            throw OptionsError(file: file, "'distill.\(unknown)' is not a distillation option (known: \(known.sorted().joined(separator: ", ")))")
        }
        func choice<T>(_ name: String, _ options: [String: T]) throws(OptionsError) -> T? {
            guard let s = try string(section, name, key: "distill.\(name)") else { return nil }
            guard let v = options[s] else {
                throw OptionsError(file: file, "'distill.\(name)' is '\(s)'; use one of \(options.keys.sorted().joined(separator: ", "))")
            }
            return v
        }
        func number(_ name: String, in range: ClosedRange<Double> = OptionsLimits.lossWeight) throws(OptionsError) -> Double? {
            try double(section, name, key: "distill.\(name)", in: range)
        }
        if let m = try choice("method", ["slkd": DistillationConfiguration.Method.slkd, "student_alone": .studentAlone,
                                         "output_kd": .outputKD, "fitnets": .fitNets, "dfkd": .dfkd, "dckd": .dckd]) { c.method = m }
        if let v = try number("pixel_weight") { c.pixelWeight = v }
        if let v = try number("kl_weight") { c.klWeight = v }
        if let v = try number("degradation_removal_weight") { c.degradationRemovalWeight = v }
        if let v = try number("reconstruction_weight") { c.reconstructionWeight = v }
        if let v = try number("fitnets_weight") { c.fitNetsWeight = v }
        if let v = try number("kl_temperature", in: OptionsLimits.positiveScale) { c.klTemperature = v }
        if let v = try number("mscn_constant", in: OptionsLimits.positiveScale) { c.mscnConstant = v }
        if let v = try number("piqe_tau", in: -1e6...1e6) { c.piqeTau = v }
        if let v = try number("piqe_tau_min", in: -1e6...1e6) { c.piqeTauMin = v }
        if let v = try int(section, "piqe_block_size", key: "distill.piqe_block_size", in: 1...256) { c.piqeBlockSize = v }
        if let v = try int(section, "brisque_scales", key: "distill.brisque_scales", in: 1...8) { c.brisqueScales = v }
        if let v = try int(section, "scm_common_width", key: "distill.scm_common_width", in: 1...4096) { c.scmMode = .commonWidth(v) }
        if let v = try choice("scm_init", ["random": DistillationConfiguration.SCMInitialisation.random, "least_squares": .leastSquares]) {
            c.scmInitialisation = v
        }
        if let v = try choice("feature_scaling", ["none": FeatureScaling.none, "teacher_spread": .teacherSpread]) {
            c.featureScaling = v
        }
        if let v = try choice("teacher_b_input", ["clean": DistillationConfiguration.TeacherBInput.clean, "degraded": .degraded]) {
            c.teacherBInput = v
        }
        if let v = try choice("pixel_target", ["teacher_b": DistillationConfiguration.PixelTarget.teacherB, "ground_truth": .groundTruth]) {
            c.pixelTarget = v
        }
        try readBaselines(section, into: &c)
        if let v = try bool(section, "use_degradation_removal", key: "distill.use_degradation_removal") { c.useDegradationRemoval = v }
        if let v = try bool(section, "use_image_reconstruction", key: "distill.use_image_reconstruction") { c.useImageReconstruction = v }
        return c
    }
}
