import ArgumentParser
import Foundation
import SLKDQuality
import SLKDTensor

/// `slkd iqa`: no-reference quality (BRISQUE, PIQE) and, with a reference, PSNR/SSIM.
struct IQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iqa",
        abstract: "Image quality: BRISQUE and PIQE scores, and PSNR/SSIM against a reference.",
        discussion: """
            BRISQUE uses the LIVE model (36 features, RBF ε-SVR); PIQE follows MATLAB's piqe.m. Both are \
            meant for the 0–100 range, lower is better; a score outside it, or one from an image too small \
            for the metric, carries a warning with the reason. PSNR and SSIM follow BasicSR, on RGB and on \
            the Y channel (psnr_y, ssim_y), and need --reference: a file, or a folder holding a file of the \
            same name (any extension) for each image. Images are PNG or JPEG files, told apart by content; \
            a folder stands for every *.png, *.jpg and *.jpeg in it, sorted.

            A file that cannot be read or scored is reported on its own line and the others are still \
            scored; the exit status is then 1.

            Examples:
              slkd iqa rainy.png restored.png
              slkd iqa --metric brisque --metric piqe results/ --csv scores.csv
              slkd iqa results/ --reference Rain100H/target --metric psnr,ssim --json
              slkd iqa photo.png --masks masks/
            """)

    /// The metrics `--metric` chooses from.
    enum Metric: String, CaseIterable, ExpressibleByArgument {
        case brisque, piqe, psnr, ssim
    }

    @Argument(help: "PNG or JPEG images, or folders of them.")
    var images: [String]

    @Option(name: .customLong("metric"), parsing: .singleValue,
            help: ArgumentHelp("brisque, piqe, psnr or ssim; repeat or separate with commas (default: brisque and piqe, plus psnr and ssim with --reference).", valueName: "name"))
    var metricNames: [String] = []

    @Option(help: "The clean image (one input) or a folder of clean images named as the inputs: enables psnr and ssim (RGB and Y).")
    var reference: String?

    @Option(help: ArgumentHelp("Also write the scores as CSV: one row per image.", valueName: "file.csv"))
    var csv: String?

    @Option(help: "A folder for the PIQE activity, artifact and noise masks (PNG).")
    var masks: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var budget: PixelBudget

    @OptionGroup var memory: MemoryBudget

    @OptionGroup var threads: ThreadOptions

    struct Report: Encodable {
        struct Brisque: Encodable { var score: Double; var features: [Double] }
        struct Piqe: Encodable {
            var score: Double
            var activeBlocks: Int
            enum CodingKeys: String, CodingKey { case score, activeBlocks = "active_blocks" }
        }
        var image: String
        var brisque: Brisque?
        var piqe: Piqe?
        var psnr: Double?, ssim: Double?, psnrY: Double?, ssimY: Double?
        /// Why a score is outside its documented range or means little.
        var warnings: [String] = []
        /// Why the image could not be scored.
        var error: String?
        enum CodingKeys: String, CodingKey {
            case image, brisque, piqe, psnr, ssim, warnings, error
            case psnrY = "psnr_y", ssimY = "ssim_y"
        }
    }

    /// The chosen metrics: `--metric` values (comma lists allowed), or the defaults.
    func chosenMetrics() throws -> [Metric] {
        let names = metricNames.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
        guard !names.isEmpty else { return reference == nil ? [.brisque, .piqe] : Metric.allCases }
        return try names.map { name in
            guard let metric = Metric(rawValue: name) else {
                throw ToolError("--metric: unknown metric '\(name)'; choose from \(Metric.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return metric
        }
    }

    /// What `--max-memory` allows an image a pixel: four float32 copies of an RGB pixel, or twice
    /// that with PSNR or SSIM. Measured growth of the peak (Docs/Security.md): about 16 bytes a
    /// grey pixel and 17 an RGB one without a reference (its grey plane and one plane of MSCN
    /// coefficients, float64), about 88 with a reference (both images' colour planes and SSIM's
    /// filtered planes).
    static func bytesPerPixel(withReference: Bool) -> Int { withReference ? 2 * 4 * 4 * 3 : 4 * 4 * 3 }

    /// A PNG or JPEG as a QualityImage on the 0–255 scale (integers for 8-bit files).
    ///
    /// Decoded to float32 (exact for 8- and 16-bit samples after rounding) and converted once into
    /// the metrics' float64 planes. With `grey`, an RGB image becomes its MATLAB `rgb2gray` plane
    /// while it is converted (what BRISQUE and PIQE compute first), so its three float64 planes
    /// are never made: the float32 decode and the grey plane, 20 bytes a pixel, at the peak.
    ///
    /// `refused` turns a decoding error into the one thrown (``MemoryBudget`` names its budget).
    static func load(_ path: String, maximumPixels: Int = PixelBudget.defaultPixels, grey: Bool = false,
                     refused: (ImageIOError) -> any Error = { $0 }) throws -> QualityImage {
        try ToolError.wrap(path) {
            let decoded: ImageIO.DecodedImage
            do throws(ImageIOError) {
                decoded = try ImageIO.readImage(at: URL(fileURLWithPath: path), channels: .stored, dtype: .float32,
                                                maximumPixels: maximumPixels)
            } catch { throw refused(error) }
            let scale: Float = decoded.bitDepth <= 8 ? 255 : 65535
            let shape = decoded.pixels.shape
            let (channels, height, width) = (shape[0], shape[1], shape[2])
            let toGrey = grey && channels == 3
            let pixels = decoded.pixels.withContiguousScalars(Float.self) { samples in
                // The value a sample has on the 0–255 scale.
                @inline(__always) func value(_ i: Int) -> Double { Double((samples[i] * scale).rounded()) * 255 / Double(scale) }
                let n = height * width
                return [Double](unsafeUninitializedCapacity: toGrey ? n : samples.count) { out, count in
                    if toGrey {
                        for i in 0..<n { out[i] = ColorConversion.matlabGray(red: value(i), green: value(n + i), blue: value(2 * n + i)) }
                        count = n
                    } else {
                        for i in 0..<samples.count { out[i] = value(i) }
                        count = samples.count
                    }
                }
            }
            return try QualityImage(width: width, height: height, channels: toGrey ? 1 : channels, pixels: pixels)
        }
    }

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image or folder") }
        let metrics = try chosenMetrics()
        if reference == nil, let full = metrics.first(where: { $0 == .psnr || $0 == .ssim }) {
            throw ToolError("--metric \(full.rawValue) compares with a clean image: give --reference FILE or FOLDER")
        }
    }

    func run() throws {
        // The metrics work in float64 arrays; the only tensor is each decode, used once. Cached,
        // its freed buffer (4 bytes a sample) would stay resident beside them.
        TensorMemoryCache.limit = 0
        // Nor should the float64 planes freed by one metric stay resident under the next.
        SystemAllocator.returnLargeBlocksWhenFreed()
        let metrics = Set(try chosenMetrics())
        let files = try RestoreCommand.expandInputs(images)
        let referenceFolder = reference.map(Self.isFolder) ?? false
        if let reference, !referenceFolder, files.count > 1 {
            throw ToolError("--reference \(reference) is one image but \(files.count) inputs were given; give a folder of references")
        }
        if let masks { try ToolError.wrap(masks) { try FileManager.default.createDirectory(atPath: masks, withIntermediateDirectories: true) } }
        var reports: [Report] = []
        for file in files {
            var report = Report(image: file.path)
            do {
                try score(file, metrics: metrics, referenceFolder: referenceFolder, into: &report)
            } catch {
                report.error = String(describing: error)
                FileHandle.standardError.write(Data("Error: \(report.error!)\n".utf8))
            }
            for warning in report.warnings { FileHandle.standardError.write(Data("warning: \(file.path): \(warning)\n".utf8)) }
            reports.append(report)
        }
        if let csv { try ToolError.wrap(csv) { try AtomicFile.write(Data(Self.csv(reports).utf8), to: URL(fileURLWithPath: csv)) } }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        } else {
            for r in reports where r.error == nil { print(Self.line(r)) }
        }
        if reports.contains(where: { $0.error != nil }) { throw ExitCode(1) }
    }

    /// Scores one image with the chosen metrics.
    func score(_ file: URL, metrics: Set<Metric>, referenceFolder: Bool, into report: inout Report) throws {
        let path = file.path
        // BRISQUE and PIQE see only the grey plane; PSNR and SSIM need the colours.
        let needsColour = metrics.contains(.psnr) || metrics.contains(.ssim)
        let bytesPerPixel = Self.bytesPerPixel(withReference: needsColour)
        let pixelLimit = memory.maximumPixels(budget, bytesPerPixel: bytesPerPixel)
        let refused = { memory.refusal($0, budget, bytesPerPixel: bytesPerPixel) }
        let image = try Self.load(path, maximumPixels: pixelLimit, grey: !needsColour, refused: refused)
        let size = "\(image.width)×\(image.height)"
        if metrics.contains(.brisque) {
            let features = try ToolError.wrap(path) { try BRISQUE.features(image) }
            let score = try ToolError.wrap(path) { try BRISQUE.Model.live().score(features) }
            report.brisque = .init(score: score, features: features)
            if !(0...100).contains(score) {
                let why = min(image.width, image.height) < Self.brisqueMinimumSide
                    ? "the image (\(size)) is smaller than \(Self.brisqueMinimumSide) pixels on a side, too few for the statistics at BRISQUE's half scale"
                    : "its natural-scene statistics lie outside those of the LIVE training images"
                report.warnings.append("BRISQUE \(String(format: "%.3f", score)) is outside the LIVE model's 0–100 range: \(why)")
            }
        }
        if metrics.contains(.piqe) || masks != nil {
            let piqe = try ToolError.wrap(path) { try PIQE.evaluate(image) }
            if metrics.contains(.piqe) {
                report.piqe = .init(score: piqe.score, activeBlocks: piqe.activeBlockCount)
                if piqe.activeBlockCount == 0 {
                    let blocks = (image.width / 16) * (image.height / 16)
                    report.warnings.append(blocks == 0
                        ? "PIQE needs 16×16 blocks and the image is \(size): the score means nothing"
                        : "PIQE found no active block among the image's \(blocks) 16×16 blocks (flat or too small): the score means nothing")
                }
            }
            if let masks { try writeMasks(piqe, of: image, source: path, into: masks) }
        }
        if metrics.contains(.psnr) || metrics.contains(.ssim), let reference {
            let referencePath = referenceFolder ? try Self.partner(of: file, in: reference) : reference
            let clean = try Self.load(referencePath, maximumPixels: pixelLimit, refused: refused)
            try ToolError.wrap(path) {
                let rgb = FullReference.Options(testYChannel: false), y = FullReference.Options(testYChannel: true)
                if metrics.contains(.psnr) {
                    report.psnr = try FullReference.psnr(image, clean, options: rgb)
                    report.psnrY = try FullReference.psnr(image, clean, options: y)
                }
                if metrics.contains(.ssim) {
                    report.ssim = try FullReference.ssim(image, clean, options: rgb)
                    report.ssimY = try FullReference.ssim(image, clean, options: y)
                }
            }
        }
    }

    /// Images whose shorter side is below this get a BRISQUE warning when the score leaves 0–100:
    /// at half scale they give fewer than 32 pixels a side to the 7×7 MSCN window and the fits.
    static let brisqueMinimumSide = 64

    /// The file in `folder` named as `file`, or with the same name and another image extension.
    static func partner(of file: URL, in folder: String) throws -> String {
        let exact = URL(fileURLWithPath: folder).appendingPathComponent(file.lastPathComponent)
        if FileManager.default.fileExists(atPath: exact.path) { return exact.path }
        let stem = file.deletingPathExtension().lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let matches = names.filter { ImageIO.ImageFormat.isImageFileName($0) && ($0 as NSString).deletingPathExtension == stem }
        guard matches.count == 1 else {
            throw ToolError(matches.isEmpty ? "no reference for \(file.lastPathComponent) in \(folder)"
                            : "references \(matches.sorted().joined(separator: ", ")) in \(folder) all match \(file.lastPathComponent)")
        }
        return URL(fileURLWithPath: folder).appendingPathComponent(matches[0]).path
    }

    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// One table line of a scored image.
    static func line(_ r: Report) -> String {
        var parts = [r.image + ":"]
        if let b = r.brisque { parts.append("BRISQUE \(String(format: "%.3f", b.score))") }
        if let p = r.piqe { parts.append("PIQE \(String(format: "%.3f", p.score)) (\(p.activeBlocks) active blocks)") }
        if let v = r.psnr { parts.append(String(format: "PSNR %.3f dB", v)) }
        if let v = r.ssim { parts.append(String(format: "SSIM %.4f", v)) }
        if let v = r.psnrY { parts.append(String(format: "PSNR-Y %.3f dB", v)) }
        if let v = r.ssimY { parts.append(String(format: "SSIM-Y %.4f", v)) }
        return parts.joined(separator: "  ")
    }

    /// The reports as CSV (RFC 4180 quoting): image, each score column, warnings and error.
    static func csv(_ reports: [Report]) -> String {
        func number(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        func quoted(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = ["image,brisque,piqe,psnr,ssim,psnr_y,ssim_y,warning,error"]
        for r in reports {
            let cells = [quoted(r.image), number(r.brisque?.score), number(r.piqe?.score), number(r.psnr), number(r.ssim),
                         number(r.psnrY), number(r.ssimY), quoted(r.warnings.joined(separator: "; ")), quoted(r.error ?? "")]
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
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
