import Foundation
import SLKDModels
import SLKDTensor

/// The small teacher the project trained for the demo and ships, with what it was trained on.
///
/// The file `Resources/DemoTeacher/teacher.safetensors` holds the weights under official
/// Restormer key names and, in its metadata, the configuration and data it was trained with
/// (`slkd.experiment`: the ``ExperimentSettings`` JSON). It is used only when those match the
/// run asking for it — above all, when its held-out images are the run's — so a demo never
/// evaluates on images its teacher saw. `Resources/DemoTeacher/README.md` gives the command
/// that produced it.
public enum DemoTeacher {
    /// The metadata key holding the training settings.
    public static let settingsKey = "slkd.experiment"

    /// The bundled weights, if they were trained with `settings`' teacher, images and degradation.
    public static func weights(for settings: ExperimentSettings) -> URL? {
        guard let url = Bundle.module.url(forResource: "teacher", withExtension: "safetensors", subdirectory: "DemoTeacher"),
              let contents = try? SafeTensors.read(from: url),
              let json = contents.metadata[settingsKey],
              let trained = try? JSONDecoder().decode(ExperimentSettings.self, from: Data(json.utf8)),
              isCompatible(trained: trained, with: settings)
        else { return nil }
        return url
    }

    /// Whether a teacher trained under `trained` may serve a run under `settings`: same network,
    /// same held-out split and crop, same degradation.
    public static func isCompatible(trained: ExperimentSettings, with settings: ExperimentSettings) -> Bool {
        trained.teacher == settings.teacher && Set(trained.heldOutImages) == Set(settings.heldOutImages)
            && trained.noiseSigma == settings.noiseSigma && trained.rainDensity == settings.rainDensity
    }

    /// Writes a teacher's weights with its training settings in the metadata (atomically).
    public static func save(_ teacher: any RestorationModel, settings: ExperimentSettings, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(settings), as: UTF8.self)
        let tensors = teacher.stateDictionary().sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        try SafeTensors.write(tensors, metadata: [settingsKey: json], to: url)
    }
}
