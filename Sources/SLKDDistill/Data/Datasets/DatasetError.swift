/// A dataset that cannot be read or sampled: the message names the folder, file or pair concerned.
public struct DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Equatable, Sendable {
        /// A folder the layout needs does not exist (or is not a directory).
        case missingFolder(path: String)
        /// A folder holds no PNG files.
        case emptyFolder(path: String)
        /// Files with no partner on the other side, by name (relative to their folder).
        case unmatchedFiles(degradedOnly: [String], cleanOnly: [String])
        /// Files on one side whose names differ only in extension (`7.png` and `7.jpg`), so
        /// their partner cannot be told.
        case ambiguousNames([String])
        /// The two images of a pair differ in shape (`C×H×W`).
        case sizeMismatch(name: String, degraded: [Int], clean: [Int])
        /// A PNG that could not be decoded, with the image reader's message.
        case unreadableImage(path: String, message: String)
        /// An image smaller than the training patch, under ``PatchAugmentation/SmallImagePolicy/reject``.
        case imageSmallerThanPatch(name: String, height: Int, width: Int, patchSize: Int)
        /// A pair whose channel count differs from the rest of its batch.
        case channelMismatch(name: String, expected: Int, actual: Int)
        /// The dataset has no pairs.
        case emptyDataset
        /// A batch size below 1.
        case invalidBatchSize(Int)
        /// The background loader was stopped before the batch was produced.
        case loaderStopped
    }

    /// What is wrong.
    public var reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case .missingFolder(let path): return "dataset: folder '\(path)' does not exist"
        case .emptyFolder(let path): return "dataset: folder '\(path)' holds no PNG or JPEG files"
        case .unmatchedFiles(let degraded, let clean):
            var parts: [String] = []
            if !degraded.isEmpty { parts.append("degraded images without a clean partner: \(Self.list(degraded))") }
            if !clean.isEmpty { parts.append("clean images without a degraded partner: \(Self.list(clean))") }
            return "dataset: " + parts.joined(separator: "; ")
        case .sizeMismatch(let name, let degraded, let clean):
            return "dataset: pair '\(name)': degraded image is \(Self.shape(degraded)), clean image is \(Self.shape(clean))"
        case .unreadableImage(let path, let message): return "dataset: cannot read '\(path)': \(message)"
        case .imageSmallerThanPatch(let name, let h, let w, let p):
            return "dataset: pair '\(name)' is \(w)×\(h) pixels, smaller than the \(p)×\(p) training patch"
        case .channelMismatch(let name, let expected, let actual):
            return "dataset: pair '\(name)' has \(actual) channels, the rest of its batch \(expected)"
        case .ambiguousNames(let names):
            return "dataset: \(names.joined(separator: ", ")) differ only in extension; keep one of them"
        case .emptyDataset: return "dataset: no image pairs"
        case .invalidBatchSize(let size): return "dataset: batch size must be at least 1, got \(size)"
        case .loaderStopped: return "dataset: the background loader was stopped"
        }
    }

    /// Names listed in full up to 20, then counted (a folder of thousands would drown the message).
    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(20).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > 20 ? shown + " and \(names.count - 20) more" : shown
    }

    private static func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }
}
