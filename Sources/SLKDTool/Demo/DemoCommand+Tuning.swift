import ArgumentParser
import SLKDDistill

/// The demo's tuning flags: each changes the arms it applies to and renames them, so that one
/// `metrics.json` (or several joined) never holds two settings under one name.
extension DemoCommand {
    /// `methods` with `--feature-weight` and `--feature-scaling` (SLKD methods only), `--set`
    /// (every method) and `--learning-rate` (every method) applied, in that order.
    func tunedMethods(_ methods: [ComparedMethod]) throws -> [ComparedMethod] {
        let scaling = try featureScalingChoice()
        let options = try setOptions()
        return try methods.map { original in
            var method = original
            if original.configuration.method == .slkd {
                if let featureWeight {
                    method.configuration.degradationRemovalWeight = featureWeight
                    method.configuration.reconstructionWeight = featureWeight
                    method.name += "_fw\(featureWeight)"
                    method.label += ", λ₂ \(featureWeight)"
                }
                if let scaling, let featureScaling {
                    method.configuration.featureScaling = scaling
                    method.name += "_fs_\(featureScaling)"
                    method.label += ", \(featureScaling) scaling"
                }
            }
            if !options.isEmpty {
                do {
                    method = try method.setting(options, source: "--set")
                } catch {
                    throw ValidationError("\(error)")
                }
            }
            if let learningRate {
                method.name += "_lr\(learningRate)"
                method.label += ", lr \(learningRate)"
            }
            return method
        }
    }

    /// `--feature-scaling` as a value; nil when not given.
    func featureScalingChoice() throws -> FeatureScaling? {
        guard let featureScaling else { return nil }
        let choices: [String: FeatureScaling] = ["none": FeatureScaling.none, "teacher_spread": .teacherSpread]
        guard let scaling = choices[featureScaling] else {
            throw ValidationError("--feature-scaling is '\(featureScaling)'; use one of \(choices.keys.sorted().joined(separator: ", "))")
        }
        return scaling
    }

    /// The `--set distill.KEY=VALUE` pairs, keys without the prefix, in the order given.
    func setOptions() throws -> [(key: String, value: String)] {
        try distillSettings.map { setting in
            guard setting.hasPrefix("distill."), let equals = setting.firstIndex(of: "="),
                  case let key = String(setting[setting.index(setting.startIndex, offsetBy: 8)..<equals]), !key.isEmpty,
                  case let value = String(setting[setting.index(after: equals)...]), !value.isEmpty
            else {
                throw ValidationError("--set takes distill.KEY=VALUE (a key of the options file's distill section), got '\(setting)'")
            }
            return (key, value)
        }
    }
}
