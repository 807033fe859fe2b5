import CSLKDPNG
import Foundation

/// Reading and writing images as `C×H×W` tensors with values in `[0, 1]`.
///
/// PNG goes through libpng's simplified `png_image` API (Swift cannot call `setjmp`, which the
/// classic API needs for error handling). Samples are returned exactly as stored, scaled by
/// `1/255` (8-bit and palette images, and 1/2/4-bit grays expanded to 8 bits) or `1/65535`
/// (16-bit images); no colour management is applied to ordinary files.
///
/// ```swift
/// let rainy = try Tensor.readPNG(at: url, channels: .rgb)   // 3×H×W float32
/// try derained.writePNG(to: outURL)                          // 8-bit, rounded half up
/// ```
///
/// Limits of the simplified API, kept in mind by the code: libpng hands 16-bit images with alpha
/// back premultiplied, so their colours are un-premultiplied here — exact where alpha is opaque,
/// within half a 16-bit step divided by alpha elsewhere, and 0 where alpha is 0. A file whose
/// gAMA/sRGB chunk contradicts libpng's defaults (sRGB for 8-bit, linear for 16-bit) is converted
/// to those defaults. Writing supports 8-bit gray, gray+alpha, RGB and RGBA, and 16-bit gray and
/// RGB.
public enum ImageIO {
    /// Which channels a decoded image has.
    public enum Channels: Sendable, Hashable {
        /// The colour channels as stored: 1 for gray, 3 for RGB and palette images; alpha dropped.
        case stored
        /// The channels as stored including alpha when the file has one (1–4 channels).
        case storedWithAlpha
        /// One luma channel; colour images are converted with the ITU-R BT.601 weights
        /// (0.299 R + 0.587 G + 0.114 B, as Pillow's `convert("L")`, here without rounding).
        case gray
        /// Luma and alpha (alpha 1 when the file has none).
        case grayAlpha
        /// Red, green, blue; gray images are replicated into all three.
        case rgb
        /// Red, green, blue, alpha (alpha 1 when the file has none).
        case rgba
    }

    /// Sample depth of a written PNG.
    public enum BitDepth: Int, Sendable {
        /// 8 bits per sample, sRGB-tagged (the usual image file).
        case eight = 8
        /// 16 bits per sample, tagged linear (gAMA 1.0) by libpng; samples are written as given.
        case sixteen = 16
    }

    /// What a PNG file holds, as libpng reports it.
    public struct PNGInfo: Sendable, Equatable {
        /// Columns.
        public var width: Int
        /// Rows.
        public var height: Int
        /// Channels as stored, counting alpha (a palette image counts as RGB or RGBA).
        public var storedChannels: Int
        /// Whether the file has an alpha channel or transparency (tRNS) chunk.
        public var hasAlpha: Bool
        /// 16 for 16-bit files, 8 for all others (lower depths are expanded to 8).
        public var bitDepth: Int
        /// Whether the file is palette-based.
        public var isPalette: Bool
    }

    /// A decoded PNG: its pixels, what the file held, and libpng's warning if it gave one.
    public struct PNGImage: @unchecked Sendable {
        /// `C×H×W` values in `[0, 1]`.
        public var pixels: Tensor
        /// The file's layout.
        public var info: PNGInfo
        /// libpng's first warning (a recoverable problem such as a bad ancillary-chunk CRC).
        public var warning: String?
    }

    /// The largest image, in pixels, that will be decoded (guards against hostile headers that
    /// declare huge dimensions: 2²⁷ pixels is over 11 000 × 11 000).
    public static let maximumPixelCount = 1 << 27

    // MARK: Reading

    /// Reads the PNG file at `url`.
    ///
    /// - Parameters:
    ///   - url: the file.
    ///   - channels: which channels to return.
    ///   - dtype: `float32` or `float64`.
    ///   - maximumPixels: refuse images with more pixels than this, from the header, before any
    ///     pixel memory is allocated (a pixel budget; at most ``maximumPixelCount``).
    public static func readPNG(at url: URL, channels: Channels = .stored, dtype: DType = .float32,
                               maximumPixels: Int = maximumPixelCount) throws(ImageIOError) -> PNGImage {
        try decodingFile(url) { data throws(ImageIOError) in
            try decodePNG(data, channels: channels, dtype: dtype, maximumPixels: maximumPixels)
        }
    }

    /// Decodes a PNG held in memory (see ``readPNG(at:channels:dtype:maximumPixels:)``).
    ///
    /// Memory: the file's samples once (1 or 2 bytes each) and the returned tensor; no other
    /// copy of the pixels is made.
    public static func decodePNG(_ data: Data, channels: Channels = .stored, dtype: DType = .float32,
                                 maximumPixels: Int = maximumPixelCount) throws(ImageIOError) -> PNGImage {
        precondition(dtype.isFloatingPoint, "images decode to float32 or float64, not \(dtype)")
        guard !data.isEmpty else { throw ImageIOError(.invalidPNG("empty file")) }
        let limit = Swift.min(maximumPixels, maximumPixelCount)
        let result: Result<PNGImage, ImageIOError> = data.withUnsafeBytes { raw in
            Result { () throws(ImageIOError) in try decode(raw, channels: channels, dtype: dtype, limit: limit) }
        }
        return try result.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, channels: Channels,
                               dtype: DType, limit: Int) throws(ImageIOError) -> PNGImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        // Frees libpng's state on every exit; a no-op once finish_read has done so.
        defer { png_image_free(&image) }

        guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
            throw ImageIOError(.invalidPNG(message(of: &image)))
        }
        let width = Int(image.width), height = Int(image.height)
        let (pixelCount, overflow) = width.multipliedReportingOverflow(by: height)
        guard width > 0, height > 0, !overflow, pixelCount <= limit else {
            throw ImageIOError(.imageTooLarge(width: width, height: height, limit: limit))
        }

        let stored = image.format
        let hasAlpha = stored & PNG_FORMAT_FLAG_ALPHA != 0
        let hasColor = stored & PNG_FORMAT_FLAG_COLOR != 0
        let sixteen = stored & PNG_FORMAT_FLAG_LINEAR != 0
        let info = PNGInfo(width: width, height: height, storedChannels: (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0),
                           hasAlpha: hasAlpha, bitDepth: sixteen ? 16 : 8,
                           isPalette: stored & PNG_FORMAT_FLAG_COLORMAP != 0)

        // Ask for the file's own layout (palettes expanded): 8-bit stays sRGB-encoded and 16-bit
        // stays linear, so libpng applies no gamma conversion and the samples come back as stored.
        image.format = stored & (PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_LINEAR)
        image.flags = 0
        let n = width * height
        let c = info.storedChannels
        let layout = InterleavedSampleLayout(channels: c, pixels: n, hasColor: hasColor, hasAlpha: hasAlpha)
        let pixels: Tensor
        if sixteen {
            var buffer = [UInt16](repeating: 0, count: n * c)
            guard buffer.withUnsafeMutableBytes({ png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }) != 0 else {
                throw ImageIOError(.invalidPNG(message(of: &image)))
            }
            if hasAlpha { unpremultiply16(&buffer, channels: c, pixels: n) }
            pixels = buffer.withUnsafeBufferPointer { samples in
                layout.tensor(channels, dtype: dtype, height: height, width: width) { Double(samples[$0]) / 65535 }
            }
        } else {
            var buffer = [UInt8](repeating: 0, count: n * c)
            guard buffer.withUnsafeMutableBytes({ png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }) != 0 else {
                throw ImageIOError(.invalidPNG(message(of: &image)))
            }
            pixels = buffer.withUnsafeBufferPointer { samples in
                layout.tensor(channels, dtype: dtype, height: height, width: width) { Double(samples[$0]) / 255 }
            }
        }
        let warning = image.warning_or_error & 3 == 1 ? message(of: &image) : nil
        return PNGImage(pixels: pixels, info: info, warning: warning)
    }

    /// Undoes libpng's premultiplication of 16-bit colour by alpha, in place (exact where opaque).
    private static func unpremultiply16(_ buffer: inout [UInt16], channels c: Int, pixels n: Int) {
        buffer.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                let a = Int(s[i * c + c - 1])
                guard a != 65535 else { continue }  // opaque: stored exactly
                for k in 0..<(c - 1) {
                    let v = Int(s[i * c + k])
                    s[i * c + k] = UInt16(a == 0 ? 0 : Swift.min(65535, (v * 65535 + a / 2) / a))
                }
            }
        }
    }

    // MARK: Writing

    /// Encodes a `C×H×W` (or `H×W` gray) tensor with values in `[0, 1]` as PNG.
    ///
    /// Values are clamped to `[0, 1]` and quantised as `floor(x · max + 0.5)` (round half up, max
    /// 255 or 65535); NaN becomes 0. `C` is 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA);
    /// 16-bit output supports 1 and 3 channels.
    public static func encodePNG(_ tensor: Tensor, bitDepth: BitDepth = .eight) throws(ImageIOError) -> Data {
        let (c, h, w) = try imageLayout(of: tensor)
        guard (1...4).contains(c) else {
            throw ImageIOError(.unsupportedTensor("\(c) channels; expected 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)"))
        }
        guard bitDepth == .eight || c == 1 || c == 3 else {
            throw ImageIOError(.unsupportedTensor("16-bit PNGs with alpha are not supported (libpng's simplified API premultiplies them)"))
        }
        guard h > 0, w > 0, h <= Int(Int32.max) / (c * 2), w <= Int(Int32.max) / (c * 2),
              h.multipliedReportingOverflow(by: w).partialValue <= maximumPixelCount else {
            throw ImageIOError(.unsupportedTensor("\(w)×\(h) pixels cannot be written (limit \(maximumPixelCount))"))
        }
        let n = h * w
        let maxValue = bitDepth == .eight ? 255.0 : 65535.0
        func quantized(_ x: Double) -> Int {
            guard !x.isNaN else { return 0 }
            return Int((Swift.min(Swift.max(x, 0), 1) * maxValue + 0.5).rounded(.down))
        }

        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(w)
        image.height = png_uint_32(h)
        image.format = (c >= 3 ? PNG_FORMAT_FLAG_COLOR : 0) | (c % 2 == 0 ? PNG_FORMAT_FLAG_ALPHA : 0)
            | (bitDepth == .sixteen ? PNG_FORMAT_FLAG_LINEAR : 0)
        defer { png_image_free(&image) }

        // Interleave H×W×C as libpng wants it, reading the tensor's own storage (C×H×W row-major):
        // a Double copy of the pixels would cost 8 bytes a sample.
        var bytes8: [UInt8] = [], bytes16: [UInt16] = []
        func interleave(_ value: (Int) -> Double) {
            if bitDepth == .eight {
                bytes8 = [UInt8](repeating: 0, count: n * c)
                for k in 0..<c { for i in 0..<n { bytes8[i * c + k] = UInt8(quantized(value(k * n + i))) } }
            } else {
                bytes16 = [UInt16](repeating: 0, count: n * c)
                for k in 0..<c { for i in 0..<n { bytes16[i * c + k] = UInt16(quantized(value(k * n + i))) } }
            }
        }
        let source = tensor.detached()
        if source.dtype == .float32 {
            source.withContiguousScalars(Float.self) { v in interleave { Double(v[$0]) } }
        } else {
            source.withContiguousScalars(Double.self) { v in interleave { v[$0] } }
        }
        func encode(into memory: UnsafeMutableRawPointer?, size: inout Int) -> Int32 {
            var bytes = png_alloc_size_t(size)
            let ok = bitDepth == .eight
                ? bytes8.withUnsafeBytes { png_image_write_to_memory(&image, memory, &bytes, 0, $0.baseAddress, 0, nil) }
                : bytes16.withUnsafeBytes { png_image_write_to_memory(&image, memory, &bytes, 0, $0.baseAddress, 0, nil) }
            size = Int(bytes)
            return ok
        }
        // First pass measures, second writes.
        var size = 0
        guard encode(into: nil, size: &size) != 0, size > 0 else {
            throw ImageIOError(.encodingFailed(message(of: &image)))
        }
        var data = Data(count: size)
        let ok = data.withUnsafeMutableBytes { encode(into: $0.baseAddress, size: &size) }
        guard ok != 0 else { throw ImageIOError(.encodingFailed(message(of: &image))) }
        data.count = size
        return data
    }

    /// Writes a `C×H×W` (or `H×W`) tensor as a PNG file (see ``encodePNG(_:bitDepth:)``).
    ///
    /// The file is replaced atomically: written to a temporary file in the same directory, flushed
    /// and renamed over `url`. On failure `url` keeps its old contents and no temporary file remains.
    public static func writePNG(_ tensor: Tensor, to url: URL, bitDepth: BitDepth = .eight) throws(ImageIOError) {
        try writingFile(url) { () throws(ImageIOError) in try encodePNG(tensor, bitDepth: bitDepth) }
    }

    /// libpng's message from the last call.
    private static func message(of image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported no message" : text
    }
}

extension Tensor {
    /// Reads a PNG file as a `C×H×W` tensor with values in `[0, 1]`.
    ///
    /// - Parameters:
    ///   - url: the file.
    ///   - channels: which channels to return (see ``ImageIO/Channels``); by default the colour
    ///     channels as stored, without alpha.
    ///   - dtype: `float32` or `float64`.
    /// - Throws: ``ImageIOError`` naming the file when it is missing, corrupt, truncated or not a PNG.
    public static func readPNG(at url: URL, channels: ImageIO.Channels = .stored,
                               dtype: DType = .float32) throws(ImageIOError) -> Tensor {
        try ImageIO.readPNG(at: url, channels: channels, dtype: dtype).pixels
    }

    /// Writes this `C×H×W` (or `H×W`) tensor with values in `[0, 1]` as a PNG file, atomically.
    ///
    /// Values are clamped and rounded half up (`floor(x · 255 + 0.5)` for 8 bits).
    /// - Throws: ``ImageIOError`` naming the file when the tensor has no image layout or the file
    ///   cannot be written.
    public func writePNG(to url: URL, bitDepth: ImageIO.BitDepth = .eight) throws(ImageIOError) {
        try ImageIO.writePNG(self, to: url, bitDepth: bitDepth)
    }
}
