import SLKDTensor

/// Random square crops with flips and quarter turns, applied identically to both images of a pair
/// (BasicSR's `paired_random_crop` followed by `augment`).
public struct PatchAugmentation: Sendable, Equatable, Codable {
    /// What to do with an image smaller than the patch.
    public enum SmallImagePolicy: String, Sendable, Codable {
        /// Throw ``DatasetError/Reason/imageSmallerThanPatch(name:height:width:patchSize:)``.
        case reject
        /// Extend the image at the bottom and right by reflection without repeating the edge
        /// (OpenCV `BORDER_REFLECT_101`, NumPy `reflect`), as BasicSR's `padding` does; the crop
        /// then starts at 0 on that axis. Images smaller than half the patch reflect repeatedly.
        case reflectPad
    }

    /// The side of the square patch (default 128).
    public var patchSize: Int
    /// Whether random horizontal and vertical flips are drawn.
    public var flips: Bool
    /// Whether random quarter turns (0, 90, 180, 270°) are drawn.
    public var rotations: Bool
    /// Images smaller than the patch.
    public var smallImages: SmallImagePolicy

    public init(patchSize: Int = 128, flips: Bool = true, rotations: Bool = true, smallImages: SmallImagePolicy = .reject) {
        precondition(patchSize > 0, "patch size must be positive, got \(patchSize)")
        self.patchSize = patchSize
        self.flips = flips
        self.rotations = rotations
        self.smallImages = smallImages
    }

    /// Draws where and how to cut a patch from an `height × width` image.
    ///
    /// Draw order (fixed, so sequences are reproducible): top, left, then — when enabled — the
    /// horizontal flip, vertical flip and quarter turns. An axis with no freedom draws nothing.
    public func drawTransform(height: Int, width: Int, name: String,
                              using generator: inout RandomGenerator) throws(DatasetError) -> PatchTransform {
        let p = patchSize
        if (height < p || width < p) && smallImages == .reject {
            throw DatasetError(.imageSmallerThanPatch(name: name, height: height, width: width, patchSize: p))
        }
        let top = height > p ? generator.uniformInt(below: height - p + 1) : 0
        let left = width > p ? generator.uniformInt(below: width - p + 1) : 0
        var transform = PatchTransform(top: top, left: left)
        if flips {
            transform.horizontalFlip = generator.next() >> 63 == 1
            transform.verticalFlip = generator.next() >> 63 == 1
        }
        if rotations { transform.quarterTurns = generator.uniformInt(below: 4) }
        return transform
    }
}

/// Where a patch was cut and how it was turned: `patch = rot90ᵏ(vflip(hflip(crop)))`, with
/// `rot90` counter-clockwise as NumPy's `np.rot90` on the (H, W) axes.
public struct PatchTransform: Sendable, Equatable, Codable {
    /// The crop's first row and column in the source image.
    public var top: Int, left: Int
    /// Mirror left–right (applied first).
    public var horizontalFlip: Bool
    /// Mirror top–bottom (applied second).
    public var verticalFlip: Bool
    /// Counter-clockwise quarter turns, 0–3 (applied last).
    public var quarterTurns: Int

    public init(top: Int, left: Int, horizontalFlip: Bool = false, verticalFlip: Bool = false, quarterTurns: Int = 0) {
        self.top = top
        self.left = left
        self.horizontalFlip = horizontalFlip
        self.verticalFlip = verticalFlip
        self.quarterTurns = quarterTurns
    }

    /// For each patch pixel (row-major `size × size`), the offset of its source pixel in an
    /// `height × width` plane; coordinates beyond the image are reflected (reflect-101).
    public func sourceOffsets(size p: Int, height: Int, width: Int) -> [Int] {
        var offsets = [Int](repeating: 0, count: p * p)
        let turns = ((quarterTurns % 4) + 4) % 4
        for y in 0..<p {
            for x in 0..<p {
                // Undo the turns: np.rot90 gives out[y][x] = in[x][p-1-y].
                var (cy, cx) = (y, x)
                for _ in 0..<turns { (cy, cx) = (cx, p - 1 - cy) }
                if verticalFlip { cy = p - 1 - cy }
                if horizontalFlip { cx = p - 1 - cx }
                let sy = Self.reflect(top + cy, count: height), sx = Self.reflect(left + cx, count: width)
                offsets[y * p + x] = sy * width + sx
            }
        }
        return offsets
    }

    /// Reflect-101 of an index into `0..<count` (period `2(count − 1)`).
    static func reflect(_ i: Int, count n: Int) -> Int {
        if i >= 0 && i < n { return i }
        if n == 1 { return 0 }
        let period = 2 * (n - 1)
        let m = ((i % period) + period) % period
        return m < n ? m : period - m
    }

    /// The `C×size×size` patch of a `C×H×W` image, as a new float32 tensor.
    public func apply(to image: Tensor, size: Int) -> Tensor {
        precondition(image.rank == 3, "patches are cut from C×H×W images, got \(image.shape)")
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        let offsets = sourceOffsets(size: size, height: h, width: w)
        var values = [Float](repeating: 0, count: c * size * size)
        values.withUnsafeMutableBufferPointer { Self.gather(image, offsets: offsets, into: $0.baseAddress!) }
        return Tensor(shape: [c, size, size], scalars: values)
    }

    /// Copies `image`'s pixels at `offsets` (per plane) into `out`, plane after plane.
    static func gather(_ image: Tensor, offsets: [Int], into out: UnsafeMutablePointer<Float>) {
        let (c, plane) = (image.shape[0], image.shape[1] * image.shape[2])
        let source = image.dtype == .float32 ? image : image.cast(to: .float32)
        source.withContiguousScalars(Float.self) { src in
            offsets.withUnsafeBufferPointer { idx in
                for k in 0..<c {
                    let s = src.baseAddress! + k * plane, o = out + k * idx.count
                    for i in 0..<idx.count { o[i] = s[idx[i]] }
                }
            }
        }
    }
}

extension RandomGenerator {
    /// A uniform integer in `0..<n` (rejection sampling: no modulo bias).
    package mutating func uniformInt(below n: Int) -> Int {
        precondition(n > 0, "uniformInt needs a positive bound")
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let r = next()
            if r < limit { return Int(r % bound) }
        }
    }
}
