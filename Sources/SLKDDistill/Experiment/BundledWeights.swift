import Foundation
import SLKDModels
import SLKDTensor

/// Trained weights that ship with the package, by the name the `slkd` tool takes in `--arch`
/// and options files take in `network_teacher: {type: bundled, name: …}`.
///
/// Each entry is a `.safetensors` resource whose metadata says which network it fits, so that
/// the network is built from the file itself and the weights always match it.
///
/// ```swift
/// let teacher = try BundledWeights.named("demo-teacher").loadModel()   // eval mode, weights loaded
/// ```
public struct BundledWeights: Sendable {
    /// The name (`demo-teacher`).
    public let name: String
    /// One line on what the network is and what it was trained on.
    public let summary: String
    /// The weights file.
    public let url: URL
    /// The network's configuration.
    public let configuration: Restormer.Configuration

    /// Errors in finding bundled weights.
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// Every bundled entry, by name.
    public static func all() throws -> [BundledWeights] { [try demoTeacher()] }

    /// The names of the bundled entries.
    public static let names = ["demo-teacher"]

    /// The entry called `name`.
    /// - Throws: ``Error`` naming the known entries when there is none of that name.
    public static func named(_ name: String) throws -> BundledWeights {
        guard let entry = try all().first(where: { $0.name == name }) else {
            throw Error(description: "no bundled weights named '\(name)'; bundled: \(names.joined(separator: ", "))")
        }
        return entry
    }

    /// The small Restormer teacher `slkd demo` uses (Resources/DemoTeacher/README.md).
    static func demoTeacher() throws -> BundledWeights {
        guard let url = Bundle.module.url(forResource: "teacher", withExtension: "safetensors", subdirectory: "DemoTeacher") else {
            throw Error(description: "the demo teacher's weights are missing from the package's resources")
        }
        let contents = try SafeTensors.read(from: url)
        guard let json = contents.metadata[DemoTeacher.settingsKey],
              let settings = try? JSONDecoder().decode(ExperimentSettings.self, from: Data(json.utf8)) else {
            throw Error(description: "\(url.path): no '\(DemoTeacher.settingsKey)' metadata naming its network")
        }
        let held = settings.heldOutImages.joined(separator: ", ")
        return BundledWeights(
            name: "demo-teacher", url: url, configuration: settings.teacher,
            summary: "Restormer (dim \(settings.teacher.dim)) trained for \(settings.teacherSteps) steps on the bundled sample images "
                + "with synthetic rain and noise (σ \(settings.noiseSigma)); held out: \(held)")
    }

    init(name: String, url: URL, configuration: Restormer.Configuration, summary: String) {
        self.name = name
        self.url = url
        self.configuration = configuration
        self.summary = summary
    }

    /// The network with these weights loaded, in eval mode.
    public func loadModel() throws -> any RestorationModel {
        let model = Restormer(configuration, seed: 0)
        try model.loadStateDictionary(try SafeTensors.read(from: url).tensors)
        model.eval()
        return model
    }
}
