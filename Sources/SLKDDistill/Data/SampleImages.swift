import Foundation

/// The natural images bundled with SLKD (public domain and CC0, from scikit-image's sample data;
/// licences in `Resources/SampleImages/LICENSES.md`), for the demo, examples and tests.
public enum SampleImages {
    /// The folder holding the bundled PNG files and their licence file.
    public static var folder: URL {
        Bundle.module.url(forResource: "SampleImages", withExtension: nil)!
    }

    /// The bundled PNG files, sorted by name.
    public static var urls: [URL] {
        let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension.lowercased() == "png" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
