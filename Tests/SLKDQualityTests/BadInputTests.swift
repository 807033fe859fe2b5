import Foundation
import Testing
import SLKDQuality

@Suite("Bad input gives a defined result or a QualityError")
struct BadInputTests {
    static func grey(_ w: Int, _ h: Int, _ value: (Int) -> Double) throws -> QualityImage {
        try QualityImage(width: w, height: h, pixels: (0..<(w * h)).map(value))
    }

    @Test func emptyImagesThrow() throws {
        let empty = try QualityImage(width: 0, height: 5, pixels: [])
        #expect(throws: QualityError.self) { try BRISQUE.features(empty) }
        #expect(throws: QualityError.self) { try BRISQUE.score(empty) }
        #expect(throws: QualityError.self) { try PIQE.evaluate(empty) }
        #expect(throws: QualityError.self) { try FullReference.psnr(empty, empty) }
        #expect(throws: QualityError.self) { try FullReference.ssim(empty, empty) }
    }

    @Test func wrongPixelCountAndShapesThrow() {
        #expect(throws: QualityError.pixelCountMismatch(expected: 6, actual: 5)) {
            try QualityImage(width: 3, height: 2, pixels: [1, 2, 3, 4, 5])
        }
        #expect(throws: QualityError.unsupportedShape([2, 2, 2, 2])) { try QualityImage(Tensor.zeros([2, 2, 2, 2], dtype: .float64)) }
        #expect(throws: QualityError.unsupportedChannels(2)) {
            try PIQE.evaluate(try QualityImage(width: 2, height: 2, channels: 2, pixels: [Double](repeating: 1, count: 8)))
        }
    }

    @Test func nonFiniteValuesThrow() throws {
        let nan = try Self.grey(20, 20) { $0 == 57 ? .nan : Double($0 % 256) }
        let inf = try Self.grey(20, 20) { $0 == 3 ? .infinity : 1 }
        let ok = try Self.grey(20, 20) { Double($0 % 256) }
        for bad in [nan, inf] {
            #expect(throws: QualityError.self) { try BRISQUE.features(bad) }
            #expect(throws: QualityError.self) { try PIQE.evaluate(bad) }
            #expect(throws: QualityError.self) { try FullReference.psnr(bad, ok) }
            #expect(throws: QualityError.self) { try FullReference.ssim(ok, bad) }
        }
    }

    @Test func mismatchedSizesThrow() throws {
        let a = try Self.grey(20, 20) { Double($0 % 256) }
        let b = try Self.grey(20, 21) { Double($0 % 256) }
        let rgb = try QualityImage(width: 20, height: 20, channels: 3, pixels: [Double](repeating: 9, count: 1200))
        #expect(throws: QualityError.self) { try FullReference.psnr(a, b) }
        #expect(throws: QualityError.self) { try FullReference.ssim(a, rgb) }
        let small = try Self.grey(10, 30) { Double($0 % 256) }
        #expect(throws: QualityError.self) { try FullReference.ssim(small, small) }
        #expect(throws: QualityError.self) { try FullReference.psnr(a, a, options: .init(cropBorder: 10)) }
    }

    @Test func constantImagesGiveFiniteDefinedValues() throws {
        let flat = try Self.grey(40, 30) { _ in 77 }
        #expect(try BRISQUE.features(flat).allSatisfy { $0.isFinite })
        // With replicate padding every window is flat, all MSCN coefficients snap to 0: α takes
        // the first grid value (MATLAB's min over NaN) and every moment is 0.
        let features = try BRISQUE.features(flat, options: .init(mscn: .init(padding: .replicate)))
        for k in [0, 2, 6, 10, 14, 18, 20, 24, 28, 32] { #expect(features[k] == 0.2) }
        for k in 0..<36 where ![0, 2, 6, 10, 14, 18, 20, 24, 28, 32].contains(k) { #expect(features[k] == 0) }
        #expect(try BRISQUE.score(flat).isFinite)
        #expect(try PIQE.score(flat) == 100)
    }

    @Test func singlePixelImagesGiveFiniteValues() throws {
        let one = try QualityImage(width: 1, height: 1, pixels: [200])
        let features = try BRISQUE.features(one)
        #expect(features.count == 36 && features.allSatisfy { $0.isFinite })
        #expect(try BRISQUE.score(one).isFinite)
        let piqe = try PIQE.evaluate(one)
        #expect(piqe.score == 100 && piqe.activityMask == [false])
        let rgbOne = try QualityImage(width: 1, height: 1, channels: 3, pixels: [10, 20, 30])
        #expect(try BRISQUE.features(rgbOne).allSatisfy { $0.isFinite })
        #expect(try FullReference.psnr(one, one) == .infinity)
        #expect(throws: QualityError.self) { try FullReference.ssim(one, one) }
    }

    @Test func oddSizesWork() throws {
        // Any size: PIQE pads to 16, BRISQUE halves to ⌈H/2⌉×⌈W/2⌉.
        var state: UInt64 = 12345
        let noisy = try Self.grey(37, 23) { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 56)
        }
        #expect(try BRISQUE.features(noisy).allSatisfy { $0.isFinite })
        let piqe = try PIQE.evaluate(noisy)
        #expect(piqe.blockRows == 2 && piqe.blockColumns == 3 && piqe.score.isFinite)
    }
}
