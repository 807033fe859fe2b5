/// An image file that cannot be read, or a tensor that cannot be written as an image.
///
/// Corrupt, truncated and unknown input is reported as this error, with libpng's or
/// libjpeg-turbo's own message, never as a crash.
public struct ImageIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Equatable, Sendable {
        /// The file could not be read.
        case unreadable(String)
        /// The bytes are not a valid PNG (libpng's message: bad signature, CRC error, truncation…).
        case invalidPNG(String)
        /// The bytes are not a valid JPEG (libjpeg-turbo's message: truncation, corrupt data…).
        case invalidJPEG(String)
        /// The bytes are neither PNG nor JPEG.
        case unknownFormat(String)
        /// The image's pixel count exceeds the limit it was read under (by default
        /// ``ImageIO/maximumPixelCount``; commands pass their own pixel budget).
        case imageTooLarge(width: Int, height: Int, limit: Int)
        /// The tensor cannot be written as an image of the requested kind.
        case unsupportedTensor(String)
        /// libpng refused to encode the image.
        case encodingFailed(String)
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

    public var description: String {
        let prefix = path.map { "image '\($0)': " } ?? "image: "
        switch reason {
        case .unreadable(let why): return prefix + "cannot read: \(why)"
        case .invalidPNG(let why): return prefix + "not a valid PNG: \(why)"
        case .invalidJPEG(let why): return prefix + "not a valid JPEG: \(why)"
        case .unknownFormat(let why): return prefix + "neither PNG nor JPEG: \(why)"
        case .imageTooLarge(let w, let h, let limit):
            return prefix + "\(w)×\(h) is \(w.multipliedReportingOverflow(by: h).partialValue) pixels, over the limit of \(limit)"
        case .unsupportedTensor(let why): return prefix + "cannot write tensor: \(why)"
        case .encodingFailed(let why): return prefix + "encoding failed: \(why)"
        case .writeFailed(let why): return prefix + "cannot write: \(why)"
        }
    }
}
