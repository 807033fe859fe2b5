import Foundation
import Testing

/// The project's read-only reference material (`../shared/reference/` beside the repository:
/// official-code vectors, golden models, checkpoints). A user's clone has none; tests that need
/// it are skipped with `.enabled(if: SharedReference.isAvailable, SharedReference.skipMessage)`.
public enum SharedReference {
    /// The reference folder: `$SLKD_SHARED_REFERENCE` if set, else `../shared/reference` next to
    /// the package root.
    public static let root: URL = {
        if let override = ProcessInfo.processInfo.environment["SLKD_SHARED_REFERENCE"] {
            return URL(fileURLWithPath: override)
        }
        // This file is Tests/SLKDTestSupport/SharedReference.swift: three levels below the package root.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")
    }()

    /// Whether the reference folder exists on this machine.
    public static var isAvailable: Bool { FileManager.default.fileExists(atPath: root.path) }

    public static let skipMessage: Comment = "../shared/reference is not present (a user's clone); reference tests skipped"

    /// A file inside the reference folder.
    public static func url(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }
}
