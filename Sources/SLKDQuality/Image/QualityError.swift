/// Bad input to an image-quality metric: the message names the image and what is wrong.
public enum QualityError: Error, Equatable, CustomStringConvertible {
    /// The image has no pixels (a zero width, height or channel count).
    case emptyImage(String)
    /// The pixel count does not equal width × height × channels.
    case pixelCountMismatch(expected: Int, actual: Int)
    /// A channel count the metric does not accept (it takes 1 or 3).
    case unsupportedChannels(Int)
    /// A tensor whose shape is not H×W or C×H×W.
    case unsupportedShape([Int])
    /// The image contains NaN or ±∞.
    case nonFiniteValues(String)
    /// A full-reference metric got images of different sizes.
    case sizeMismatch(String)
    /// The image is smaller than the metric's window.
    case imageTooSmall(String)
    /// A model or range file could not be read.
    case invalidModel(String)

    public var description: String {
        switch self {
        case .emptyImage(let what): "\(what): the image is empty"
        case .pixelCountMismatch(let expected, let actual):
            "the pixel array holds \(actual) values, the shape needs \(expected)"
        case .unsupportedChannels(let c): "\(c) channels: expected 1 (grey) or 3 (RGB)"
        case .unsupportedShape(let s): "tensor shape \(s): expected [H, W] or [C, H, W]"
        case .nonFiniteValues(let what): "\(what): the image contains NaN or infinite values"
        case .sizeMismatch(let what): what
        case .imageTooSmall(let what): what
        case .invalidModel(let what): what
        }
    }
}
