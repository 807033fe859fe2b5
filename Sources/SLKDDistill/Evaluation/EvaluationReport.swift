import Foundation
import SLKDTensor

/// PSNR and SSIM of a restoration over a test set, per image and on average.
///
/// Written as JSON (``jsonData()``: this value's `Codable` form) and CSV (``csvText()``: header
/// `image,psnr,ssim`, a row per image, a last row named `mean`). PSNR is +∞ for an image restored
/// exactly; JSON has no infinity, so non-finite numbers are written as the strings `"inf"`,
/// `"-inf"`, `"nan"` (CSV: `inf`, `-inf`, `nan`), and ``decode(json:)`` reads them back.
public struct EvaluationReport: Codable, Sendable, Equatable {
    /// One image's scores.
    public struct ImageScore: Codable, Sendable, Equatable {
        /// The pair's name.
        public var image: String
        /// dB, on 0–255 images.
        public var psnr: Double
        public var ssim: Double

        public init(image: String, psnr: Double, ssim: Double) {
            self.image = image
            self.psnr = psnr
            self.ssim = ssim
        }
    }

    /// The averages over images (BasicSR averages per-image PSNR, not the PSNR of the mean error).
    public struct Mean: Codable, Sendable, Equatable {
        public var psnr: Double
        public var ssim: Double
    }

    /// A name for the test set (e.g. "Rain100H"), when given.
    public var dataset: String?
    /// How the metrics were computed.
    public var options: EvaluationOptions
    /// The number of images.
    public var count: Int
    /// Per-image scores, in dataset order.
    public var images: [ImageScore]
    /// The averages.
    public var mean: Mean

    /// A report of `images`, averaging their scores.
    public init(dataset: String?, options: EvaluationOptions, images: [ImageScore]) {
        self.dataset = dataset
        self.options = options
        self.count = images.count
        self.images = images
        let n = Double(Swift.max(images.count, 1))
        mean = Mean(psnr: images.reduce(0) { $0 + $1.psnr } / n, ssim: images.reduce(0) { $0 + $1.ssim } / n)
    }

    // MARK: Writing

    /// The report as pretty-printed JSON with sorted keys.
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Encoding plain numbers, strings and arrays cannot fail.
        return try! encoder.encode(self)
    }

    /// A report read from ``jsonData()``'s format.
    public static func decode(json: Data) throws -> EvaluationReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(EvaluationReport.self, from: json)
    }

    /// The report as CSV: `image,psnr,ssim`, one row per image, then `mean`.
    /// Numbers are written in full (shortest exact decimal); names are quoted when they need it.
    public func csvText() -> String {
        var lines = ["image,psnr,ssim"]
        for s in images { lines.append("\(Self.csvField(s.image)),\(Self.number(s.psnr)),\(Self.number(s.ssim))") }
        lines.append("mean,\(Self.number(mean.psnr)),\(Self.number(mean.ssim))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the JSON report to `url`, atomically (temporary file, fsync, then rename).
    public func writeJSON(to url: URL) throws(EvaluationError) { try Self.write(jsonData(), to: url) }

    /// Writes the CSV report to `url`, atomically (temporary file, fsync, then rename).
    public func writeCSV(to url: URL) throws(EvaluationError) { try Self.write(Data(csvText().utf8), to: url) }

    private static func write(_ data: Data, to url: URL) throws(EvaluationError) {
        do {
            try AtomicFile.write(data, to: url)
        } catch {
            throw EvaluationError.writeFailed(path: url.path, message: error.description)
        }
    }

    static func number(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    /// RFC 4180 quoting: fields holding a comma, quote or line break are quoted, quotes doubled.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
