import Foundation

/// Weights from a file of either format a user is likely to hold: an official PyTorch checkpoint
/// (`.pth`, the zip format, read by the restricted unpickler) or safetensors — told apart by the
/// file's first bytes, not its name, since both get renamed.
public enum ModelWeights {
    /// The state dictionary stored at `url` (official key names; `module.` prefixes stripped).
    ///
    /// - Parameters:
    ///   - url: a safetensors file or a PyTorch checkpoint.
    ///   - maximumBytes: the most tensor bytes the file may produce (a `--max-memory` setting);
    ///     nil derives the limit from the file's size. Both formats charge the same `ReadBudget`,
    ///     so a file over it is refused the same way whichever it is.
    public static func read(from url: URL, maximumBytes: Int? = nil) throws -> [String: Tensor] {
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw CheckpointError.unreadableFile(path: url.path, reason: "no such file or not readable")
        }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        try? handle.close()
        // "PK": a zip archive, PyTorch's format since 1.6; 0x80: a bare pickle, the legacy format,
        // which the checkpoint reader names in its error.
        if magic.starts(with: [0x50, 0x4B]) || magic.first == 0x80 {
            return try PyTorchCheckpoint.load(from: url, maximumBytes: maximumBytes)
        }
        return try SafeTensors.read(from: url, maximumBytes: maximumBytes).tensors
    }

    /// Loads the weights at `url` into `model`; missing, unexpected and mis-shaped keys are
    /// reported by name and leave the model unchanged.
    public static func load(from url: URL, into model: Module, maximumBytes: Int? = nil) throws {
        _ = try model.loadStateDictionary(try read(from: url, maximumBytes: maximumBytes))
    }
}
