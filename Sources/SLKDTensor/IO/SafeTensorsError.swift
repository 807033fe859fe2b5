/// A safetensors file or buffer that cannot be read, or tensors that cannot be written as one.
///
/// Every problem with a file — truncation, a hostile header, offsets outside the data, overlapping
/// tensors — is reported as this error, never as a crash. ``reason`` says what is wrong (naming the
/// tensor where there is one) and ``path`` which file, when the bytes came from a file.
public struct SafeTensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Equatable, Sendable {
        /// Fewer than the 8 bytes of the header length.
        case fileTooSmall(byteCount: Int)
        /// The declared header length is beyond the format's 100 MB limit.
        case headerTooLarge(declared: UInt64)
        /// The declared header length runs past the end of the file.
        case headerLengthExceedsFile(declared: UInt64, available: Int)
        /// The header is not valid UTF-8 JSON.
        case invalidJSON(String)
        /// The header is JSON but not an object.
        case headerNotObject
        /// The header names a tensor (or `__metadata__`) twice.
        case duplicateKey(String)
        /// `__metadata__` is not an object of strings.
        case invalidMetadata(String)
        /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or one of them is malformed.
        case invalidEntry(key: String, problem: String)
        /// A `dtype` string that is not part of the safetensors format.
        case unknownDType(key: String, dtype: String)
        /// A valid safetensors `dtype` that ``Tensor`` cannot hold (complex, 8-bit floats, `U64`).
        case unsupportedDType(key: String, dtype: String)
        /// Loading the tensors would pass the file's ``ReadBudget``.
        case budgetExceeded(ReadBudgetExceeded)
        /// `end - begin` differs from the byte size the dtype and shape call for.
        case sizeMismatch(key: String, expectedBytes: Int, actualBytes: Int)
        /// `data_offsets` reach past the end of the data section.
        case offsetsOutOfBounds(key: String, begin: Int, end: Int, dataSize: Int)
        /// The tensor's bytes overlap those of `previous`.
        case overlap(key: String, previous: String)
        /// Unclaimed bytes lie between `previous` (or the start of the data) and this tensor.
        case gap(key: String, previous: String?, byteCount: Int)
        /// Bytes after the last tensor that no tensor claims.
        case trailingBytes(count: Int)
        /// A name that cannot be written: empty, `__metadata__`, or given twice.
        case invalidTensorName(String)
        /// The file could not be read.
        case unreadable(String)
        /// The file could not be written; nothing at the destination was changed.
        case writeFailed(String)
    }

    /// What is wrong.
    public var reason: Reason
    /// The file concerned, when there is one.
    public var path: String?

    /// An error for `reason`, concerning the file at `path` when there is one.
    public init(_ reason: Reason, path: String? = nil) {
        self.reason = reason
        self.path = path
    }

    /// The tensor the problem concerns, when it concerns one.
    public var key: String? {
        switch reason {
        case .invalidEntry(let key, _), .unknownDType(let key, _), .unsupportedDType(let key, _),
             .sizeMismatch(let key, _, _), .offsetsOutOfBounds(let key, _, _, _), .overlap(let key, _),
             .gap(let key, _, _), .duplicateKey(let key), .invalidTensorName(let key):
            key
        default: nil
        }
    }

    public var description: String {
        let prefix = path.map { "safetensors file '\($0)': " } ?? "safetensors: "
        let message: String
        switch reason {
        case .fileTooSmall(let n):
            message = "only \(n) bytes, fewer than the 8-byte header length"
        case .headerTooLarge(let declared):
            message = "declared header length \(declared) exceeds the 100 MB limit"
        case .headerLengthExceedsFile(let declared, let available):
            message = "declared header length \(declared) exceeds the \(available) bytes after the length field"
        case .invalidJSON(let why):
            message = "header is not valid JSON: \(why)"
        case .headerNotObject:
            message = "header is not a JSON object"
        case .duplicateKey(let key):
            message = "header lists '\(key)' twice"
        case .invalidMetadata(let why):
            message = "__metadata__: \(why)"
        case .invalidEntry(let key, let problem):
            message = "tensor '\(key)': \(problem)"
        case .unknownDType(let key, let dtype):
            message = "tensor '\(key)': unknown dtype \"\(dtype)\""
        case .unsupportedDType(let key, let dtype):
            message = "tensor '\(key)': dtype \(dtype) is not supported (only floats F16/BF16/F32/F64, integers and BOOL)"
        case .budgetExceeded(let exceeded):
            message = "\(exceeded) (a file may load at most \(ReadBudget.bytesPerInputByte)× its size, or the given maximum)"
        case .sizeMismatch(let key, let expected, let actual):
            message = "tensor '\(key)': data_offsets span \(actual) bytes but dtype and shape need \(expected)"
        case .offsetsOutOfBounds(let key, let begin, let end, let size):
            message = "tensor '\(key)': data_offsets [\(begin), \(end)] run past the \(size)-byte data section"
        case .overlap(let key, let previous):
            message = "tensor '\(key)' overlaps tensor '\(previous)'"
        case .gap(let key, let previous, let count):
            message = "\(count) unclaimed bytes before tensor '\(key)'"
                + (previous.map { " (after tensor '\($0)')" } ?? " (at the start of the data)")
        case .trailingBytes(let count):
            message = "\(count) bytes after the last tensor belong to no tensor"
        case .invalidTensorName(let why):
            message = "invalid tensor name: \(why)"
        case .unreadable(let why):
            message = "cannot read: \(why)"
        case .writeFailed(let why):
            message = "cannot write: \(why)"
        }
        return prefix + message
    }
}
