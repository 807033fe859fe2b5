import SLKDTensor

/// How ``restore(image:with:tiling:)`` splits an image too large to restore in one pass.
///
/// Tiles are `tile`×`tile` crops (clipped to the image) that overlap by `overlap` pixels, laid out
/// as in Restormer's `demo.py`: starts `0, s, 2s, …` with stride `s = tile − overlap`, plus a last
/// tile flush with the far edge. Peak memory is that of one tile's forward pass plus a few
/// image-sized buffers.
public struct Tiling: Sendable, Hashable, Codable {
    /// How the overlapping tile outputs make one image.
    public enum Blend: String, Sendable, Hashable, Codable {
        /// Every pixel is the mean of all tiles covering it (`demo.py`: `E / W` with a weight map
        /// of ones).
        case average
        /// Every pixel comes from one tile: overlaps are split at their middle. With an overlap of
        /// at least twice the model's receptive radius, the result equals whole-image inference
        /// (for a model that only sees a bounded neighbourhood).
        case centre
    }

    /// The tile side, a multiple of the model's ``RestorationModel/sizeMultiple``.
    public var tile: Int
    /// Pixels shared by neighbouring tiles (smaller than `tile`).
    public var overlap: Int
    public var blend: Blend

    public init(tile: Int, overlap: Int = 32, blend: Blend = .average) {
        self.tile = tile
        self.overlap = overlap
        self.blend = blend
    }
}

/// Restores an image of any size with `model` and returns it at the input's size and rank.
///
/// - `image` is C×H×W or N×C×H×W with pixels in [0, 1]; it is converted to the model's dtype for
///   the forward pass and the result back to the image's.
/// - Without `tiling`, the image is reflect-padded at the bottom and right to multiples of
///   ``RestorationModel/sizeMultiple`` (Restormer's `demo.py`) and the output cropped back. A model
///   that ``RestorationModel/requiresSquareInput`` (Uformer) gets Uformer's `expand2square`
///   instead: the image centred on a zero square whose side is the larger image side rounded up
///   to the multiple.
/// - With `tiling`, the padded image is restored tile by tile (square tiles for square-only
///   models) and the tiles blended (``Tiling/Blend``).
///
/// Runs without recording gradients. The model's mode is left as it is: call `eval()` first if it
/// has training-only behaviour.
public func restore(image: Tensor, with model: any RestorationModel, tiling: Tiling? = nil) throws -> Tensor {
    guard image.rank == 3 || image.rank == 4 else { throw InferenceError.badRank(shape: image.shape) }
    guard image.dtype.isFloatingPoint else { throw InferenceError.notFloatingPoint(image.dtype) }
    guard image.count > 0 else { throw InferenceError.emptyImage(shape: image.shape) }
    let batched = image.rank == 3 ? image.unsqueezed(axis: 0) : image
    guard batched.shape[1] == model.inputChannels else {
        throw InferenceError.wrongChannelCount(expected: model.inputChannels, got: batched.shape[1])
    }
    let multiple = model.sizeMultiple
    if let tiling {
        guard tiling.tile > 0 && tiling.tile % multiple == 0 else {
            throw InferenceError.tileNotMultiple(tile: tiling.tile, multiple: multiple)
        }
        guard tiling.overlap >= 0 && tiling.overlap < tiling.tile else {
            throw InferenceError.badOverlap(overlap: tiling.overlap, tile: tiling.tile)
        }
    }
    let modelType = model.namedParameters().first?.tensor.dtype ?? image.dtype
    let x = batched.dtype == modelType ? batched : batched.cast(to: modelType)

    let restored = try withoutGradients { () throws -> Tensor in
        let run = { (input: Tensor) throws -> Tensor in
            let output = model(input)
            guard output.shape == input.shape else {
                throw InferenceError.unexpectedOutputShape(expected: input.shape, got: output.shape)
            }
            return output
        }
        let h = x.shape[2], w = x.shape[3]
        if let tiling {
            let padded = reflectPadded(x, bottom: (multiple - h % multiple) % multiple,
                                       right: (multiple - w % multiple) % multiple)
            let y = try restoreTiled(padded, tiling: tiling, square: model.requiresSquareInput, run: run)
            return crop(y, top: 0, left: 0, height: h, width: w)
        }
        if model.requiresSquareInput {
            // Uformer's expand2square: side = ⌈max(h, w) / multiple⌉ · multiple, image centred.
            let side = (Swift.max(h, w) + multiple - 1) / multiple * multiple
            let top = (side - h) / 2, left = (side - w) / 2
            let square = x.padded([(top, side - h - top), (left, side - w - left)], mode: .zeros)
            return crop(try run(square), top: top, left: left, height: h, width: w)
        }
        let padded = reflectPadded(x, bottom: (multiple - h % multiple) % multiple,
                                   right: (multiple - w % multiple) % multiple)
        return crop(try run(padded), top: 0, left: 0, height: h, width: w)
    }
    let converted = restored.dtype == image.dtype ? restored : restored.cast(to: image.dtype)
    return image.rank == 3 ? converted.squeezed(axis: 0) : converted
}

/// The H×W window at (top, left) of an NCHW tensor, as a compact tensor (so that the larger
/// padded output can be freed).
private func crop(_ x: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
    if top == 0 && left == 0 && x.shape[2] == height && x.shape[3] == width { return x }
    return x.narrowed(axis: 2, start: top, length: height).narrowed(axis: 3, start: left, length: width).contiguous()
}

/// Reflect padding at the bottom and right (`F.pad(x, (0, right, 0, bottom), "reflect")`). PyTorch
/// refuses widths not smaller than the side; here the mirror is applied again until the width is
/// reached, and a one-pixel side is repeated.
func reflectPadded(_ x: Tensor, bottom: Int, right: Int) -> Tensor {
    var y = x
    var (b, r) = (bottom, right)
    while b > 0 || r > 0 {
        let sb = Swift.min(b, y.shape[2] - 1), sr = Swift.min(r, y.shape[3] - 1)
        if (b > 0 && sb == 0) || (r > 0 && sr == 0) {
            return y.padded([(0, b), (0, r)], mode: .replicate)
        }
        y = y.padded([(0, sb), (0, sr)], mode: .reflect)
        b -= sb
        r -= sr
    }
    return y
}

/// Tile positions along one axis, Restormer `demo.py` style.
struct TileAxis {
    let length: Int
    let tile: Int
    let starts: [Int]

    init(length: Int, tile: Int, overlap: Int) {
        precondition(tile >= 1 && tile <= length, "TileAxis: tile \(tile) for length \(length)")
        self.length = length
        self.tile = tile
        // A tile clipped to a short side may be no larger than the overlap: then overlap by half.
        let step = overlap < tile ? tile - overlap : Swift.max(tile - tile / 2, 1)
        starts = Array(stride(from: 0, to: length - tile, by: step)) + [length - tile]
    }

    /// How many tiles cover each index.
    var coverage: [Int] {
        var counts = [Int](repeating: 0, count: length)
        for s in starts { for i in s..<(s + tile) { counts[i] += 1 } }
        return counts
    }

    /// The indices tile `k` alone supplies under ``Tiling/Blend/centre``: each overlap is split
    /// at its middle, so the ranges partition the axis.
    func owned(_ k: Int) -> Range<Int> {
        let lo = k == 0 ? 0 : (starts[k - 1] + tile + starts[k]) / 2
        let hi = k == starts.count - 1 ? length : (starts[k] + tile + starts[k + 1]) / 2
        return lo..<hi
    }
}

/// Restores `x` (N×C×H×W, sides multiples of the tile multiple) tile by tile.
func restoreTiled(_ x: Tensor, tiling: Tiling, square: Bool, run: (Tensor) throws -> Tensor) throws -> Tensor {
    let h = x.shape[2], w = x.shape[3]
    var tileH = Swift.min(tiling.tile, h), tileW = Swift.min(tiling.tile, w)
    if square { tileH = Swift.min(tileH, tileW); tileW = tileH }
    let rows = TileAxis(length: h, tile: tileH, overlap: tiling.overlap)
    let cols = TileAxis(length: w, tile: tileW, overlap: tiling.overlap)
    return try x.dtype.withFloatType("restoreTiled") { try blendTiles($0, x, rows, cols, tiling.blend, run) }
}

/// Runs every tile and adds its (owned part of the) output into one image-sized accumulator.
private func blendTiles<T: TensorScalar>(_: T.Type, _ x: Tensor, _ rows: TileAxis, _ cols: TileAxis,
                                         _ blend: Tiling.Blend, _ run: (Tensor) throws -> Tensor) throws -> Tensor {
    let planes = x.shape[0] * x.shape[1], h = rows.length, w = cols.length
    let th = rows.tile, tw = cols.tile
    // The result's own storage is the accumulator (a separate array would be copied into it).
    let (result, accumulator) = Tensor.uninitialized(x.shape, T.self)
    accumulator.initialize(repeating: 0)
    for (i, r0) in rows.starts.enumerated() {
        for (j, c0) in cols.starts.enumerated() {
            let patch = x.narrowed(axis: 2, start: r0, length: th).narrowed(axis: 3, start: c0, length: tw)
            let output = try run(patch)
            let ys = blend == .average ? r0..<(r0 + th) : rows.owned(i)
            let xs = blend == .average ? c0..<(c0 + tw) : cols.owned(j)
            output.withContiguousScalars(T.self) { out in
                for p in 0..<planes {
                    for y in ys {
                        let src = out.baseAddress! + (p * th + y - r0) * tw + xs.lowerBound - c0
                        let dst = accumulator.baseAddress! + (p * h + y) * w + xs.lowerBound
                        for k in 0..<xs.count { dst[k] += src[k] }
                    }
                }
            }
        }
    }
    if blend == .average {
        // The weight map of demo.py is separable: coverage(y, x) = rows covering y × columns covering x.
        let rowCount = rows.coverage, colCount = cols.coverage
        for p in 0..<planes {
            for y in 0..<h {
                let row = accumulator.baseAddress! + (p * h + y) * w
                for k in 0..<w where rowCount[y] * colCount[k] > 1 { row[k] /= T(rowCount[y] * colCount[k]) }
            }
        }
    }
    return result
}
