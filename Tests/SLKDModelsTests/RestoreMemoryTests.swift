import Foundation
import Testing
import SLKDModels

/// Tiled restoration holds about one extra copy of the image (the blended result) beside the
/// input, whatever the image size: tile activations do not grow with it.
@Suite("Restoration memory")
struct RestoreMemoryTests {
    @Test func tiledRestorationHoldsAboutOneCopyOfTheImage() throws {
        var generator = RandomGenerator(seed: 1)
        let model = Restormer(.init(dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2]), using: &generator)
        model.eval()
        let image = Tensor.uniform([3, 256, 384], using: &generator)
        let imageBytes = 3 * 256 * 384 * 4
        let (restored, peak) = try MemoryTracker.measuring { scope in
            (try restore(image: image, with: model, tiling: Tiling(tile: 32, overlap: 8)), scope.peakBytes)
        }
        #expect(restored.shape == image.shape)
        // What one 32×32 tile costs on its own (its activations and its output).
        let tile = Tensor.uniform([3, 32, 32], using: &generator)
        let tilePeak = try MemoryTracker.measuring { scope in
            _ = try restore(image: tile, with: model)
            return scope.peakBytes
        }
        // The result (one copy of the image) plus one tile's work at a time: no padded or
        // intermediate copy of the whole image.
        #expect(peak >= imageBytes)
        #expect(peak <= imageBytes + tilePeak, "peak \(peak) bytes for a \(imageBytes)-byte image, \(tilePeak) per tile")
    }
}
