import Foundation
import Testing
import SLKDTestSupport

/// The reference data committed under Tests/SLKDTestSupport/Vectors/Reference is the data the
/// official implementations produced: byte-identical to the workspace original where that exists.
@Suite("Reference data: the committed copy")
struct SharedReferenceCopyTests {
    /// Every file of the committed copy, relative to its root, README files included.
    static func committedFiles() throws -> [String] {
        let root = SharedReference.vendoredRoot.standardizedFileURL.path
        let enumerator = try #require(FileManager.default.enumerator(atPath: root))
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(relative)
            }
        }
        return files.sorted()
    }

    /// The copy holds every file the tests read: 4 golden models × 3 files + README, 3 checkpoints +
    /// README, 6 key lists, 20 images (12 test images, 8 grey versions) + 2 vector files + README,
    /// the models README, the LIVE notice with its README and the copy's own README.
    @Test func copyIsComplete() throws {
        let files = try Self.committedFiles()
        #expect(files.count == 50, "\(files)")
        #expect(files.filter { $0.hasPrefix("models/golden/") && $0.hasSuffix(".safetensors") }.count == 4)
        #expect(files.filter { $0.hasPrefix("models/checkpoints/") && $0.hasSuffix(".pth") }.count == 3)
        #expect(files.filter { $0.hasPrefix("quality/") && $0.hasSuffix(".png") }.count == 20)
    }

    /// Byte comparison with the original folder of the developers' workspace.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: SharedReference.workspaceOriginal.path),
                   "the workspace original (../shared/reference) exists only in the developers' workspace; the committed copy is what every other clone tests against"))
    func copyIsByteIdenticalToTheOriginal() throws {
        // The README files of the copy and of brisque/ are the copy's own; the notice is the one
        // that stands beside the LIVE model in the original's brisque/ folder.
        let own: Set<String> = ["README.md", "brisque/README.md"]
        var compared = 0
        for file in try Self.committedFiles() where !own.contains(file) {
            let copy = try Data(contentsOf: SharedReference.vendoredRoot.appendingPathComponent(file))
            let original = try Data(contentsOf: SharedReference.workspaceOriginal.appendingPathComponent(file))
            #expect(copy == original, "\(file) differs from the original")
            compared += 1
        }
        #expect(compared == 48)
    }
}
