import Foundation
import Testing

/// The reference material from the official implementations (golden models, official-format
/// checkpoints, parameter keys, quality vectors), vendored under
/// `Tests/SLKDTestSupport/Vectors/Reference` so that every exactness test runs in any clone.
/// Its README gives the provenance and licences of each folder.
public enum SharedReference {
    /// The package root: this file is Tests/SLKDTestSupport/SharedReference.swift.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The reference folder: `$SLKD_SHARED_REFERENCE` if set (another copy with the same layout),
    /// else the copy in the repository.
    public static let root: URL = {
        if let override = ProcessInfo.processInfo.environment["SLKD_SHARED_REFERENCE"] {
            return URL(fileURLWithPath: override)
        }
        return vendoredRoot
    }()

    /// The copy committed in the repository.
    public static let vendoredRoot = packageRoot.appendingPathComponent("Tests/SLKDTestSupport/Vectors/Reference")

    /// The original the copy was taken from, in the developers' workspace (`../shared/reference`
    /// beside the package); absent in a user's clone.
    public static let workspaceOriginal = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")

    /// A file inside the reference folder.
    public static func url(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }
}
