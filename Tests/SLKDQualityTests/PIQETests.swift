import Foundation
import Testing
import SLKDQuality

@Suite("PIQE against the piqe.m reference")
struct PIQEReferenceTests {
    @Test("score, block statistics, flags and masks", arguments: QualityReference.imageNames)
    func reference(name: String) throws {
        let entry = try QualityReference.entry(name)
        let ref = try entry.dict("piqe_matlab_ref")
        let image = try QualityReference.image(try #require(entry["file"] as? String))
        let result = try PIQE.evaluate(image)
        expectClose(result.score, try ref.double("score"), rtol: 1e-12, atol: 1e-10, "\(name) score")
        #expect(result.activeBlockCount == (ref["nhsa"] as? Int))
        let padded = try ref.doubles("padded_shape")
        #expect(Double(result.blockRows * 16) == padded[0] && Double(result.blockColumns * 16) == padded[1])
        let flat = { (key: String) throws -> [Double] in
            // Grids are nested [row][column] or already flat, row-major.
            let raw = try #require(ref[key] as? [Any], "missing \(key)")
            let flat = raw.flatMap { ($0 as? [Any]) ?? [$0] }
            return flat.map { ($0 as? NSNumber)?.doubleValue ?? .nan }
        }
        let variance = try flat("block_var"), minSeg = try flat("block_min_seg_std")
        let censur = try flat("block_censur"), beta = try flat("block_beta")
        let active = try flat("block_active"), impaired = try flat("block_impaired"), noise = try flat("block_noise")
        try #require(variance.count == result.blocks.count)
        for (k, block) in result.blocks.enumerated() {
            // The grids are printed with 10 significant digits.
            expectClose(block.variance, variance[k], rtol: 1e-9, atol: 1e-12, "\(name) block \(k) var")
            expectClose(block.minSegmentStd, minSeg[k], rtol: 1e-9, atol: 1e-12, "\(name) block \(k) min segment std")
            expectClose(block.centreSurroundRatio, censur[k], rtol: 1e-9, atol: 1e-12, "\(name) block \(k) cs")
            // In exactly flat blocks β is decided by rounding noise of the filter (σ_b ~ 1e-14):
            // compare it only where the block has a measurable variance.
            if variance[k] > 1e-20 {
                expectClose(block.beta, beta[k], rtol: 1e-9, atol: 1e-12, "\(name) block \(k) β")
            }
            #expect(block.beta.isFinite)
            #expect(block.isActive == (active[k] == 1), "\(name) block \(k) active")
            #expect(block.isImpaired == (impaired[k] == 1), "\(name) block \(k) impaired")
            #expect(block.isNoisy == (noise[k] == 1), "\(name) block \(k) noise")
        }
        // Masks: whole blocks, cropped to the input size.
        #expect(result.activityMask.count == image.width * image.height)
        for y in Swift.stride(from: 0, to: image.height, by: 7) {
            for x in Swift.stride(from: 0, to: image.width, by: 5) {
                let k = (y / 16) * result.blockColumns + x / 16
                #expect(result.activityMask[y * image.width + x] == (active[k] == 1))
                #expect(result.noticeableArtifactsMask[y * image.width + x] == (impaired[k] == 1))
                #expect(result.noiseMask[y * image.width + x] == (noise[k] == 1))
            }
        }
    }

    @Test("hard extractor scores of the differentiable input equal piqe.m")
    func differentiableInputChannels() throws {
        let d = try QualityReference.json("differentiable.json")
        let input = try d.dict("input")
        let values = try input.doubles("values")
        let refScores = try #require(try d.dict("hard_piqe_vs_matlab_ref")["ref_scores"] as? [[Double]])
        for b in 0..<2 {
            for c in 0..<3 {
                let plane = Array(values[((b * 3 + c) * 1024)..<((b * 3 + c + 1) * 1024)])
                let image = try QualityImage(width: 32, height: 32, pixels: plane)
                expectClose(try PIQE.score(image), refScores[b][c], rtol: 1e-12, "batch \(b) channel \(c)")
            }
        }
    }
}

@Suite("PIQE closed forms")
struct PIQEClosedFormTests {
    @Test func uniformImageScoresHundred() throws {
        let image = try QualityImage(width: 20, height: 37, pixels: [Double](repeating: 128, count: 20 * 37))
        let result = try PIQE.evaluate(image)
        #expect(result.score == 100)
        #expect(result.activeBlockCount == 0)
        #expect(result.blockRows == 3 && result.blockColumns == 2)
        #expect(!result.activityMask.contains(true))
    }
}
