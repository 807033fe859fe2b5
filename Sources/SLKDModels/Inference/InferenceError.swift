import SLKDTensor

/// Why ``restore(image:with:tiling:)`` refused an image or a tiling.
public enum InferenceError: Error, Equatable, CustomStringConvertible {
    /// The image is neither C×H×W nor 1×C×H×W (any batch size is accepted in rank 4).
    case badRank(shape: [Int])
    /// The image has no pixels (or no batch entries).
    case emptyImage(shape: [Int])
    /// The image's channels differ from the model's.
    case wrongChannelCount(expected: Int, got: Int)
    /// The image holds integers; restoration needs floating-point pixels in [0, 1].
    case notFloatingPoint(DType)
    /// The tile side is not a positive multiple of the model's size multiple.
    case tileNotMultiple(tile: Int, multiple: Int)
    /// The overlap is negative or not smaller than the tile.
    case badOverlap(overlap: Int, tile: Int)
    /// The model returned a tensor of another shape than its input.
    case unexpectedOutputShape(expected: [Int], got: [Int])

    public var description: String {
        switch self {
        case .badRank(let shape):
            "restore: the image must be C×H×W or N×C×H×W, got shape \(shape)"
        case .emptyImage(let shape):
            "restore: the image of shape \(shape) is empty"
        case .wrongChannelCount(let expected, let got):
            "restore: the model takes \(expected)-channel images, the image has \(got) channels"
        case .notFloatingPoint(let dtype):
            "restore: the image must hold floating-point pixels, got \(dtype)"
        case .tileNotMultiple(let tile, let multiple):
            "restore: tile size \(tile) must be a positive multiple of the model's size multiple \(multiple)"
        case .badOverlap(let overlap, let tile):
            "restore: tile overlap \(overlap) must be in 0..<\(tile) (the tile size)"
        case .unexpectedOutputShape(let expected, let got):
            "restore: the model returned shape \(got) for an input of shape \(expected)"
        }
    }
}
