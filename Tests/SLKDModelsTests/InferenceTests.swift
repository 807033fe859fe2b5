import Testing
import SLKDModels

// MARK: Small restoration models for the inference and profiler tests

/// Returns its input, and remembers what it was given (to check padding and tiling).
final class InfraIdentityModel: Module, RestorationModel {
    let sizeMultiple: Int
    let requiresSquareInput: Bool
    let inputChannels: Int
    /// Added to the output: `rowStep · row + colStep · column` of the padded input, to locate crops.
    let rowStep: Double, colStep: Double
    nonisolated(unsafe) var seen: [Tensor] = []

    init(multiple: Int, square: Bool = false, channels: Int = 3, rowStep: Double = 0, colStep: Double = 0) {
        sizeMultiple = multiple
        requiresSquareInput = square
        inputChannels = channels
        self.rowStep = rowStep
        self.colStep = colStep
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor { forward(x, features: []).image }

    func forward(_ x: Tensor, features: Set<String>) -> ModelOutput {
        precondition(x.shape[2] % sizeMultiple == 0 && x.shape[3] % sizeMultiple == 0, "sides not multiples")
        precondition(!requiresSquareInput || x.shape[2] == x.shape[3], "not square")
        seen.append(x)
        if rowStep == 0 && colStep == 0 { return ModelOutput(image: x) }
        let h = x.shape[2], w = x.shape[3]
        let rows = Tensor.arange(h, dtype: x.dtype).reshaped([1, 1, h, 1]) * rowStep
        let cols = Tensor.arange(w, dtype: x.dtype).reshaped([1, 1, 1, w]) * colStep
        return ModelOutput(image: x + rows + cols)
    }

    var featureNames: [String] { [] }
    var encoderTaps: [String] { [] }
    var decoderTaps: [String] { [] }
}

/// A purely local network: three 3×3 convolutions (receptive radius 3) with a global residual,
/// children `head`, `body`, `tail`, plus a weightless attention-like matmul in `body`'s stage.
final class InfraLocalNet: Module, RestorationModel {
    let head: Conv2d
    let body: Conv2d
    let tail: Conv2d
    let sizeMultiple: Int
    let requiresSquareInput: Bool
    let withMatmul: Bool

    init(hidden: Int, multiple: Int = 8, square: Bool = false, withMatmul: Bool = false, dtype: DType = .float64,
         seed: UInt64 = 5) {
        var g = RandomGenerator(seed: seed)
        head = Conv2d(3, hidden, kernelSize: 3, padding: 1, dtype: dtype, using: &g)
        body = Conv2d(hidden, hidden, kernelSize: 3, padding: 1, dtype: dtype, using: &g)
        tail = Conv2d(hidden, 3, kernelSize: 3, padding: 1, dtype: dtype, using: &g)
        sizeMultiple = multiple
        requiresSquareInput = square
        self.withMatmul = withMatmul
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor { forward(x, features: []).image }

    func forward(_ x: Tensor, features: Set<String>) -> ModelOutput {
        var recorder = FeatureRecorder(features)
        var y = recorder.record("head", head(x).relu())
        y = body(y).relu()
        if withMatmul {
            // Channel attention as in Restormer's MDTA: [B, C, HW]·[B, HW, C] → [B, C, C].
            let b = y.shape[0], c = y.shape[1], h = y.shape[2], w = y.shape[3]
            let t = y.reshaped([b, c, h * w])
            y = t.matmul(t.transposed()).softmax(axis: -1).matmul(t).reshaped([b, c, h, w])
        }
        recorder.record("body", y)
        return ModelOutput(image: tail(y) + x, features: recorder.features)
    }

    var featureNames: [String] { ["head", "body"] }
    var encoderTaps: [String] { ["head"] }
    var decoderTaps: [String] { ["body"] }
    var inputChannels: Int { 3 }
}

private func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.doubles, b.doubles).map { abs($0 - $1) }.max() ?? 0
}

/// Runs `attempt` until it holds: the peak memory tracker is process-wide, so tests running in
/// parallel can only raise a measured peak, never lower it.
private func eventually(tries: Int = 20, _ attempt: () -> Bool) -> Bool {
    for _ in 0..<tries where attempt() { return true }
    return false
}

// MARK: Tests

@Suite struct InferenceTests {
    @Test func identityModelReturnsTheImageExactlyWithReflectPadding() throws {
        var g = RandomGenerator(seed: 1)
        let image = Tensor.uniform([3, 13, 21], dtype: .float64, using: &g)
        let model = InfraIdentityModel(multiple: 8)
        let restored = try restore(image: image, with: model)
        #expect(restored.shape == [3, 13, 21])
        #expect(restored.doubles == image.doubles)
        // The model saw the image reflect-padded at the bottom and right to 16×24
        // (F.pad(x, (0, 3, 0, 3), "reflect")): padded row 13 + i is row 11 − i.
        #expect(model.seen.map(\.shape) == [[1, 3, 16, 24]])
        let seen = model.seen[0]
        for i in 0..<3 {
            #expect(seen.narrowed(axis: 2, start: 13 + i, length: 1).narrowed(axis: 3, start: 0, length: 21).doubles
                    == image.narrowed(axis: 1, start: 11 - i, length: 1).doubles)
            #expect(seen.narrowed(axis: 3, start: 21 + i, length: 1).narrowed(axis: 2, start: 0, length: 13).doubles
                    == image.narrowed(axis: 2, start: 19 - i, length: 1).doubles)
        }
    }

    @Test func sidesAlreadyMultiplesAreNotPadded() throws {
        var g = RandomGenerator(seed: 2)
        let image = Tensor.uniform([2, 3, 16, 8], using: &g)
        let model = InfraIdentityModel(multiple: 8)
        let restored = try restore(image: image, with: model)
        #expect(model.seen.map(\.shape) == [[2, 3, 16, 8]])
        #expect(restored.shape == [2, 3, 16, 8] && restored.floats == image.floats)
    }

    @Test func paddingWiderThanTheImageMirrorsAgain() throws {
        // A 3-pixel-high image padded to 16 rows: PyTorch's reflect refuses widths ≥ the side.
        var g = RandomGenerator(seed: 3)
        let image = Tensor.uniform([1, 3, 3, 5], dtype: .float64, using: &g)
        let model = InfraIdentityModel(multiple: 16)
        let restored = try restore(image: image, with: model)
        #expect(model.seen.map(\.shape) == [[1, 3, 16, 16]])
        #expect(restored.doubles == image.doubles)
        let one = try restore(image: Tensor.uniform([1, 3, 1, 1], dtype: .float64, using: &g), with: model)
        #expect(one.shape == [1, 3, 1, 1])
    }

    @Test func squareModelsGetUformersExpandToSquare() throws {
        // h 13, w 21, multiple 16: side ⌈21/16⌉·16 = 32, image at top (32−13)/2 = 9, left (32−21)/2 = 5,
        // zeros around. The model adds 1000·row + column of the square, so the crop position shows.
        var g = RandomGenerator(seed: 4)
        let image = Tensor.uniform([1, 3, 13, 21], dtype: .float64, using: &g)
        let model = InfraIdentityModel(multiple: 16, square: true, rowStep: 1000, colStep: 1)
        let restored = try restore(image: image, with: model)
        #expect(model.seen.map(\.shape) == [[1, 3, 32, 32]])
        let square = model.seen[0]
        #expect(square.narrowed(axis: 2, start: 0, length: 9).doubles.allSatisfy { $0 == 0 })
        #expect(square.narrowed(axis: 3, start: 26, length: 6).doubles.allSatisfy { $0 == 0 })
        let offsets = (restored - image).doubles
        for c in 0..<3 {
            for y in 0..<13 {
                for x in 0..<21 {
                    let expected = 1000 * Double(9 + y) + Double(5 + x)
                    #expect(abs(offsets[(c * 13 + y) * 21 + x] - expected) < 1e-9)
                }
            }
        }
    }

    @Test func imageDtypeIsConvertedToTheModelsAndBack() throws {
        var g = RandomGenerator(seed: 5)
        let model = InfraLocalNet(hidden: 4, dtype: .float32)
        let image = Tensor.uniform([3, 8, 8], dtype: .float64, using: &g)
        let restored = try restore(image: image, with: model)
        #expect(restored.dtype == .float64 && restored.shape == [3, 8, 8])
        let direct = withoutGradients { model(image.cast(to: .float32).unsqueezed(axis: 0)) }
        #expect(maxAbsDifference(restored, direct) < 1e-6)
    }

    @Test func badInputsThrowTypedErrors() {
        let model = InfraIdentityModel(multiple: 8)
        #expect(throws: InferenceError.wrongChannelCount(expected: 3, got: 1)) {
            try restore(image: .zeros([1, 8, 8]), with: model)
        }
        #expect(throws: InferenceError.emptyImage(shape: [3, 0, 8])) { try restore(image: .zeros([3, 0, 8]), with: model) }
        #expect(throws: InferenceError.badRank(shape: [8, 8])) { try restore(image: .zeros([8, 8]), with: model) }
        #expect(throws: InferenceError.notFloatingPoint(.int64)) {
            try restore(image: .zeros([3, 8, 8], dtype: .int64), with: model)
        }
        #expect(throws: InferenceError.tileNotMultiple(tile: 4, multiple: 8)) {
            try restore(image: .zeros([3, 8, 8]), with: model, tiling: Tiling(tile: 4, overlap: 0))
        }
        #expect(throws: InferenceError.tileNotMultiple(tile: 12, multiple: 8)) {
            try restore(image: .zeros([3, 8, 8]), with: model, tiling: Tiling(tile: 12, overlap: 0))
        }
        #expect(throws: InferenceError.badOverlap(overlap: 16, tile: 16)) {
            try restore(image: .zeros([3, 8, 8]), with: model, tiling: Tiling(tile: 16, overlap: 16))
        }
    }

    @Test func tilePositionsFollowRestormersDemo() throws {
        // Pixel value 1000·row + column shows where each tile came from. 40×50 pads to 40×56;
        // tile 16, overlap 4, stride 12: rows range(0, 24, 12) + [24], columns range(0, 40, 12) + [40].
        let image = Tensor(shape: [1, 40, 50], scalars: (0..<40).flatMap { y in (0..<50).map { Double(1000 * y + $0) } })
        let model = InfraIdentityModel(multiple: 8, channels: 1)
        let restored = try restore(image: image, with: model, tiling: Tiling(tile: 16, overlap: 4))
        let corners = model.seen.map { Int($0.doubles[0]) }
        #expect(corners == [0, 12, 24].flatMap { y in [0, 12, 24, 36, 40].map { 1000 * y + $0 } })
        #expect(model.seen.allSatisfy { $0.shape == [1, 1, 16, 16] })
        #expect(TileAxisProbe(length: 40, tile: 16, overlap: 4).starts == [0, 12, 24])
        #expect(TileAxisProbe(length: 56, tile: 16, overlap: 4).starts == [0, 12, 24, 36, 40])
        #expect(maxAbsDifference(restored, image) < 1e-9)
    }

    @Test func tiledIdentityIsExact() throws {
        var g = RandomGenerator(seed: 6)
        let image = Tensor.uniform([3, 37, 53], dtype: .float64, using: &g)
        for blend in [Tiling.Blend.average, .centre] {
            let model = InfraIdentityModel(multiple: 8)
            let restored = try restore(image: image, with: model, tiling: Tiling(tile: 16, overlap: 8, blend: blend))
            #expect(maxAbsDifference(restored, image) < 1e-15)
            // Padded to 40×56: 4 tile rows × 6 tile columns, each 16×16.
            #expect(model.seen.count == 24 && model.seen.allSatisfy { $0.shape == [1, 3, 16, 16] })
        }
    }

    @Test func centreBlendedTilesEqualWholeImageInference() throws {
        // Receptive radius 3 and overlap 8 ≥ 2·3: every pixel comes from a tile that saw all of
        // its neighbourhood, so tiled equals whole everywhere (float64 rounding aside).
        var g = RandomGenerator(seed: 7)
        let model = InfraLocalNet(hidden: 6)
        let image = Tensor.uniform([3, 37, 53], dtype: .float64, using: &g)
        let whole = try restore(image: image, with: model)
        let tiled = try restore(image: image, with: model, tiling: Tiling(tile: 16, overlap: 8, blend: .centre))
        #expect(tiled.shape == whole.shape)
        #expect(maxAbsDifference(tiled, whole) < 1e-12)
        // Without overlap the tile borders show: the comparison can fail.
        let seams = try restore(image: image, with: model, tiling: Tiling(tile: 16, overlap: 0, blend: .centre))
        #expect(maxAbsDifference(seams, whole) > 1e-3)
    }

    @Test func averagedTilesEqualWholeImageAwayFromSeams() throws {
        // demo.py's mean of all covering tiles: exact where every covering tile is at least the
        // receptive radius (3) from its inner edges.
        var g = RandomGenerator(seed: 8)
        let model = InfraLocalNet(hidden: 6)
        let (h, w, tile, overlap, radius) = (40, 56, 16, 8, 3)
        let image = Tensor.uniform([1, 3, h, w], dtype: .float64, using: &g)
        let whole = try restore(image: image, with: model).doubles
        let tiled = try restore(image: image, with: model, tiling: Tiling(tile: tile, overlap: overlap)).doubles
        func clean(_ i: Int, _ length: Int) -> Bool {
            let starts = TileAxisProbe(length: length, tile: tile, overlap: overlap).starts
            return starts.filter { $0 <= i && i < $0 + tile }.allSatisfy { s in
                (s == 0 || i - s >= radius) && (s + tile == length || s + tile - 1 - i >= radius)
            }
        }
        var checked = 0, dirty = 0.0
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    let k = (c * h + y) * w + x
                    if clean(y, h) && clean(x, w) {
                        #expect(abs(tiled[k] - whole[k]) < 1e-12, "pixel (\(c), \(y), \(x))")
                        checked += 1
                    } else {
                        dirty = max(dirty, abs(tiled[k] - whole[k]))
                    }
                }
            }
        }
        #expect(checked >= 3 * 8 * 8)
        #expect(dirty > 1e-4)  // the seams do differ: the mask is not vacuous
    }

    @Test func squareModelsGetSquareTiles() throws {
        var g = RandomGenerator(seed: 9)
        let model = InfraIdentityModel(multiple: 8, square: true)
        let image = Tensor.uniform([3, 24, 40], dtype: .float64, using: &g)
        let restored = try restore(image: image, with: model, tiling: Tiling(tile: 32, overlap: 8))
        #expect(model.seen.allSatisfy { $0.shape == [1, 3, 24, 24] })
        #expect(maxAbsDifference(restored, image) < 1e-15)
    }

    @Test func tiledPeakMemoryIsBoundedByTheTile() throws {
        // Hidden maps of 32 channels: whole-image inference holds several 32×192×192 float maps
        // (4.5 MiB each); a 32×32 tile's are 128 KiB. Tiled, the tracked peak is a few image-sized
        // tensors (input copy, output, 432 KiB each) plus one tile's activations.
        var g = RandomGenerator(seed: 10)
        let model = InfraLocalNet(hidden: 32, dtype: .float32)
        let image = Tensor.uniform([1, 3, 192, 192], using: &g)
        let imageBytes = image.count * 4
        let tileActivationBytes = 32 * 32 * 32 * 4
        func peak(_ tiling: Tiling?) throws -> Int {
            try MemoryTracker.measuring { scope in
                _ = try restore(image: image, with: model, tiling: tiling)
                return scope.peakBytes
            }
        }
        let bound = 2 * imageBytes + 6 * tileActivationBytes
        var tiledPeak = 0, wholePeak = 0
        #expect(eventually {
            tiledPeak = (try? peak(Tiling(tile: 32, overlap: 8))) ?? .max
            return tiledPeak <= bound
        }, "tiled peak \(tiledPeak) > bound \(bound)")
        wholePeak = try peak(nil)
        #expect(wholePeak >= 2 * 32 * imageBytes / 3)  // at least two 32-channel maps at full size
        #expect(tiledPeak * 3 < wholePeak)
    }
}

/// Mirrors the tile layout rule of `restore` (Restormer's demo.py), checked independently.
struct TileAxisProbe {
    let starts: [Int]
    init(length: Int, tile: Int, overlap: Int) {
        let step = tile - overlap
        starts = Array(stride(from: 0, to: length - tile, by: step)) + [length - tile]
    }
}
