import Foundation
import Testing
import SLKDQuality

@Suite("PSNR and SSIM against BasicSR")
struct FullReferenceReferenceTests {
    @Test(arguments: QualityReference.imageNames.filter { !$0.hasSuffix("clean") })
    func basicSR(name: String) throws {
        let entry = try QualityReference.entry(name)
        let fr = try entry.dict("fr_vs_clean")
        let image = try QualityReference.image(try #require(entry["file"] as? String))
        let clean = try QualityReference.image(String(name.prefix { $0 != "_" }) + "_clean.png")
        let y = FullReference.Options(testYChannel: true)
        if image.channels == 3 {
            expectClose(try FullReference.psnr(image, clean, options: .init(testYChannel: false)),
                        try fr.double("psnr_rgb"), atol: 1e-6, "\(name) PSNR RGB")
        }
        expectClose(try FullReference.psnr(image, clean, options: y), try fr.double("psnr_y"), atol: 1e-6, "\(name) PSNR Y")
        expectClose(try FullReference.ssim(image, clean, options: y), try fr.double("ssim_y_basicsr"), atol: 1e-6, "\(name) SSIM Y")
    }
}

@Suite("PSNR and SSIM closed forms")
struct FullReferenceClosedFormTests {
    @Test func psnrOfAConstantOffset() throws {
        let a = try QualityImage(width: 12, height: 12, pixels: [Double](repeating: 100, count: 144))
        let b = try QualityImage(width: 12, height: 12, pixels: [Double](repeating: 110, count: 144))
        expectClose(try FullReference.psnr(a, b), 10 * log10(255.0 * 255 / 100), rtol: 1e-14, "PSNR")
        #expect(try FullReference.psnr(a, a) == .infinity)
        #expect(try FullReference.ssim(a, a) == 1)
        // Constant images: SSIM = (2·100·110 + C1)/(100² + 110² + C1) (the contrast term is 1).
        let c1 = (0.01 * 255) * (0.01 * 255)
        expectClose(try FullReference.ssim(a, b), (2 * 100 * 110 + c1) / (100 * 100 + 110 * 110 + c1), rtol: 1e-12, "SSIM")
    }

    @Test func cropBorderRemovesTheFrame() throws {
        var p = [Double](repeating: 50, count: 14 * 14)
        p[0] = 0 // a difference only in the frame
        let a = try QualityImage(width: 14, height: 14, pixels: p)
        let b = try QualityImage(width: 14, height: 14, pixels: [Double](repeating: 50, count: 14 * 14))
        #expect(try FullReference.psnr(a, b, options: .init(cropBorder: 1)) == .infinity)
        #expect(try FullReference.psnr(a, b) < 100)
    }
}
