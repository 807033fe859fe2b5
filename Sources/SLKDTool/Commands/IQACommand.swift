import ArgumentParser
import Foundation
import SLKDQuality

/// `slkd iqa`: no-reference quality (BRISQUE, PIQE) and, with a reference, PSNR/SSIM.
struct IQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iqa",
        abstract: "Image quality: BRISQUE and PIQE scores, and PSNR/SSIM against a reference.",
        discussion: """
            BRISQUE uses the LIVE model (36 features, RBF ε-SVR); PIQE follows MATLAB's piqe.m. Both are on the
            0–100 scale, lower is better. With --reference, PSNR and SSIM follow BasicSR: on RGB and on the
            Y channel (psnr_y, ssim_y). Images are PNG files (8 or 16 bit, gray or colour).

            Examples:
              slkd iqa rainy.png restored.png
              slkd iqa restored.png --reference clean.png --json
              slkd iqa photo.png --masks masks/
            """)

    @Argument(help: "PNG images to assess.")
    var images: [String]

    @Option(help: "A clean PNG of the same size: adds PSNR and SSIM (RGB and Y).")
    var reference: String?

    @Option(help: "A folder for the PIQE activity, artifact and noise masks (PNG).")
    var masks: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var budget: PixelBudget

    @OptionGroup var threads: ThreadOptions

    struct Report: Encodable {
        struct Brisque: Encodable { var score: Double; var features: [Double] }
        struct Piqe: Encodable {
            var score: Double
            var activeBlocks: Int
            enum CodingKeys: String, CodingKey { case score, activeBlocks = "active_blocks" }
        }
        var image: String
        var brisque: Brisque
        var piqe: Piqe
        var psnr: Double?, ssim: Double?, psnrY: Double?, ssimY: Double?
        enum CodingKeys: String, CodingKey {
            case image, brisque, piqe, psnr, ssim
            case psnrY = "psnr_y", ssimY = "ssim_y"
        }
    }

    /// A PNG or JPEG as a QualityImage on the 0–255 scale (integers for 8-bit files).
    ///
    /// Decoded to float32 (exact for 8- and 16-bit samples after rounding) and converted once into
    /// the metrics' float64 planes: 12 bytes per sample at the peak, not the 40 of going through
    /// float64 tensors and intermediate arrays.
    static func load(_ path: String, maximumPixels: Int = PixelBudget.defaultPixels) throws -> QualityImage {
        try ToolError.wrap(path) {
            let decoded = try ImageIO.readImage(at: URL(fileURLWithPath: path), channels: .stored, dtype: .float32,
                                                maximumPixels: maximumPixels)
            let scale: Float = decoded.bitDepth <= 8 ? 255 : 65535
            let shape = decoded.pixels.shape
            let pixels = decoded.pixels.withContiguousScalars(Float.self) { samples in
                [Double](unsafeUninitializedCapacity: samples.count) { out, count in
                    for i in 0..<samples.count { out[i] = Double((samples[i] * scale).rounded()) * 255 / Double(scale) }
                    count = samples.count
                }
            }
            return try QualityImage(width: shape[2], height: shape[1], channels: shape[0], pixels: pixels)
        }
    }

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
    }

    func run() throws {
        let referenceImage = try reference.map { try Self.load($0, maximumPixels: budget.maxPixels) }
        if let masks { try ToolError.wrap(masks) { try FileManager.default.createDirectory(atPath: masks, withIntermediateDirectories: true) } }
        var reports: [Report] = []
        for path in images {
            let image = try Self.load(path, maximumPixels: budget.maxPixels)
            let (brisqueFeatures, brisqueScore, piqe) = try ToolError.wrap(path) {
                // The features once: BRISQUE.score(image) would extract them a second time.
                let features = try BRISQUE.features(image)
                return (features, try BRISQUE.Model.live().score(features), try PIQE.evaluate(image))
            }
            var report = Report(image: path, brisque: .init(score: brisqueScore, features: brisqueFeatures),
                                piqe: .init(score: piqe.score, activeBlocks: piqe.activeBlockCount))
            if let referenceImage {
                try ToolError.wrap(path) {
                    let rgb = FullReference.Options(testYChannel: false), y = FullReference.Options(testYChannel: true)
                    report.psnr = try FullReference.psnr(image, referenceImage, options: rgb)
                    report.ssim = try FullReference.ssim(image, referenceImage, options: rgb)
                    report.psnrY = try FullReference.psnr(image, referenceImage, options: y)
                    report.ssimY = try FullReference.ssim(image, referenceImage, options: y)
                }
            }
            if let masks { try writeMasks(piqe, of: image, source: path, into: masks) }
            reports.append(report)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        } else {
            for r in reports {
                var line = "\(r.image): BRISQUE \(String(format: "%.3f", r.brisque.score))  PIQE \(String(format: "%.3f", r.piqe.score)) (\(r.piqe.activeBlocks) active blocks)"
                if let psnr = r.psnr, let ssim = r.ssim, let py = r.psnrY, let sy = r.ssimY {
                    line += String(format: "  PSNR %.3f dB  SSIM %.4f  PSNR-Y %.3f dB  SSIM-Y %.4f", psnr, ssim, py, sy)
                }
                print(line)
            }
        }
    }

    /// Writes the three PIQE masks as 8-bit gray PNGs named after the image.
    func writeMasks(_ result: PIQE.Result, of image: QualityImage, source: String, into folder: String) throws {
        let stem = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        for (suffix, mask) in [("activity", result.activityMask), ("artifacts", result.noticeableArtifactsMask),
                               ("noise", result.noiseMask)] {
            let url = URL(fileURLWithPath: folder).appendingPathComponent("\(stem)_piqe_\(suffix).png")
            let tensor = Tensor(shape: [1, image.height, image.width], scalars: mask.map { $0 ? 1.0 : 0.0 })
            try ToolError.wrap(url.path) { try tensor.writePNG(to: url) }
        }
    }
}
