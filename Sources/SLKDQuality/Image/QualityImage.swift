/// A planar Float64 image for the exact quality metrics: `channels` planes of `height` rows of
/// `width` pixels, on the 0–255 scale unless a metric says otherwise.
///
/// Planar (channel-major) order matches a C×H×W tensor, so conversions are plain copies.
public struct QualityImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// Pixel `(c, y, x)` is at `(c * height + y) * width + x`.
    public let pixels: [Double]

    /// Wraps planar pixels; throws when the count does not match the shape.
    public init(width: Int, height: Int, channels: Int = 1, pixels: [Double]) throws {
        guard width >= 0, height >= 0, channels >= 0 else {
            throw QualityError.emptyImage("image of size \(width)×\(height)×\(channels)")
        }
        guard pixels.count == width * height * channels else {
            throw QualityError.pixelCountMismatch(expected: width * height * channels, actual: pixels.count)
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image from an H×W or C×H×W tensor of any floating dtype (values are not rescaled).
    public init(_ tensor: Tensor) throws {
        switch tensor.rank {
        case 2: try self.init(width: tensor.shape[1], height: tensor.shape[0], channels: 1, pixels: tensor.doubles)
        case 3:
            try self.init(width: tensor.shape[2], height: tensor.shape[1], channels: tensor.shape[0],
                          pixels: tensor.doubles)
        default: throw QualityError.unsupportedShape(tensor.shape)
        }
    }

    /// Unchecked initialiser for the metrics' own intermediate images.
    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [Double]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The image as a C×H×W Float64 tensor.
    public var tensor: Tensor { Tensor(shape: [channels, height, width], scalars: pixels) }

    /// The pixels of channel `c`, row-major.
    public func plane(_ c: Int) -> ArraySlice<Double> {
        precondition(c >= 0 && c < channels, "channel \(c) out of range 0..<\(channels)")
        return pixels[(c * width * height)..<((c + 1) * width * height)]
    }

    /// Whether the image has no pixels.
    public var isEmpty: Bool { width == 0 || height == 0 || channels == 0 }

    /// Throws unless the image is non-empty, grey or RGB, and finite — the contract of every metric.
    func validate(_ metric: String) throws {
        if isEmpty { throw QualityError.emptyImage("\(metric): image of size \(width)×\(height)×\(channels)") }
        if channels != 1 && channels != 3 { throw QualityError.unsupportedChannels(channels) }
        if pixels.contains(where: { !$0.isFinite }) { throw QualityError.nonFiniteValues(metric) }
    }
}
