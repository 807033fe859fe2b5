import Foundation

/// Why a PyTorch checkpoint could not be read.
///
/// Every malformed, truncated or hostile file ends in one of these; the reader never traps and
/// never reads outside the file.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file could not be read from disk.
    case unreadableFile(path: String, reason: String)
    /// The bytes are not a zip archive (or are a truncated one): no end-of-central-directory record.
    case notAZipArchive(String)
    /// The file is a pre-1.6 (non-zip) `torch.save` file, which this reader does not support.
    case legacyFormat
    /// The zip structure is inconsistent: offsets or sizes outside the file, bad signatures.
    case malformedArchive(String)
    /// A zip entry is compressed; `torch.save` writes only stored (uncompressed) entries.
    case compressedEntry(name: String, method: Int)
    /// A zip entry is encrypted.
    case encryptedEntry(name: String)
    /// A zip entry's CRC-32 does not match its bytes.
    case checksumMismatch(name: String)
    /// A record the checkpoint needs (`data.pkl`, `data/<key>`) is absent from the archive.
    case missingRecord(String)
    /// The checkpoint was written on a big-endian machine (its `byteorder` record says so).
    case unsupportedByteOrder(String)
    /// The pickle uses an opcode the restricted unpickler does not accept.
    case unknownOpcode(opcode: UInt8, offset: Int)
    /// The pickle names a global outside the state-dict allow-list, e.g. `posix.system`.
    case forbiddenGlobal(module: String, name: String, offset: Int)
    /// An opcode needed more stack items (or a MARK) than there were.
    case stackUnderflow(opcode: String, offset: Int)
    /// BINGET / LONG_BINGET of a memo slot that was never written.
    case memoMiss(index: Int, offset: Int)
    /// Any other structural problem in the pickle stream (truncation, wrong argument types…).
    case malformedPickle(String, offset: Int)
    /// A tensor's size, stride and offset reach past the end of its storage.
    case storageTooSmall(key: String, needed: Int, available: Int)
    /// A tensor description that cannot be rebuilt (negative sizes, overflow, rank mismatch).
    case invalidTensor(String)
    /// Reading the file would pass its `ReadBudget`: too many tensor bytes (views repeating one
    /// storage), or a pickle with too many objects, stack items or memo entries for its size.
    case budgetExceeded(ReadBudgetExceeded)
    /// The requested state-dict entry is absent; `available` lists the top-level keys.
    case missingEntry(String, available: [String])
    /// The selected object is not a state dict (a string-keyed dict of tensors).
    case notAStateDict(String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): "cannot read checkpoint \(path): \(reason)"
        case let .notAZipArchive(why): "not a zip-format PyTorch checkpoint: \(why)"
        case .legacyFormat:
            "legacy (pre-zip) torch.save format is not supported; re-save it with torch >= 1.6"
        case let .malformedArchive(why): "malformed zip archive: \(why)"
        case let .compressedEntry(name, method):
            "zip entry '\(name)' is compressed (method \(method)); torch.save writes stored entries only"
        case let .encryptedEntry(name): "zip entry '\(name)' is encrypted"
        case let .checksumMismatch(name): "zip entry '\(name)' fails its CRC-32 check"
        case let .missingRecord(name): "checkpoint has no record '\(name)'"
        case let .unsupportedByteOrder(order): "checkpoint byte order '\(order)' is not supported (little only)"
        case let .unknownOpcode(opcode, offset):
            "pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset) is not accepted by the restricted unpickler"
        case let .forbiddenGlobal(module, name, offset):
            "pickle global '\(module).\(name)' at byte \(offset) is not allowed in a state dict; nothing was executed"
        case let .stackUnderflow(opcode, offset): "pickle stack underflow in \(opcode) at byte \(offset)"
        case let .memoMiss(index, offset): "pickle memo slot \(index) read at byte \(offset) was never written"
        case let .malformedPickle(why, offset): "malformed pickle at byte \(offset): \(why)"
        case let .storageTooSmall(key, needed, available):
            "storage '\(key)' holds \(available) elements but the tensor needs \(needed)"
        case let .invalidTensor(why): "invalid tensor: \(why)"
        case let .budgetExceeded(exceeded): "checkpoint refused: \(exceeded)"
        case let .missingEntry(key, available):
            "checkpoint has no entry '\(key)' (top-level keys: \(available.joined(separator: ", ")))"
        case let .notAStateDict(why): "not a state dict: \(why)"
        }
    }

    public var errorDescription: String? { description }
}
