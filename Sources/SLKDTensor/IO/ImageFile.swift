import Foundation

/// Image files of either format, told apart by their first bytes, never by their name.
extension ImageIO {
    /// The file formats SLKD reads and writes.
    public enum ImageFormat: String, Sendable, CaseIterable {
        case png
        case jpeg

        /// The format whose signature `data` starts with: PNG's 8-byte signature, or JPEG's
        /// start-of-image marker followed by another marker (`FF D8 FF`).
        public init?(sniffing data: Data) {
            if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { self = .png }
            else if data.starts(with: [0xFF, 0xD8, 0xFF]) { self = .jpeg }
            else { return nil }
        }

        /// The format a file name asks for when writing: `.jpg`/`.jpeg` (any case) is JPEG,
        /// everything else PNG.
        public init(forWriting url: URL) {
            self = ["jpg", "jpeg"].contains(url.pathExtension.lowercased()) ? .jpeg : .png
        }

        /// File-name extensions (lower case) of image files that folder readers pick up.
        public static let fileExtensions: Set<String> = ["png", "jpg", "jpeg"]

        /// Whether `name` ends in one of ``fileExtensions`` (any case).
        public static func isImageFileName(_ name: String) -> Bool {
            fileExtensions.contains((name as NSString).pathExtension.lowercased())
        }
    }

    /// A decoded image of either format.
    public struct DecodedImage: @unchecked Sendable {
        /// `C×H×W` values in `[0, 1]`.
        public var pixels: Tensor
        /// The file's format.
        public var format: ImageFormat
        /// Channels as stored, counting alpha.
        public var storedChannels: Int
        /// Bits per stored sample (8, or 16 for 16-bit PNGs).
        public var bitDepth: Int
        /// The decoder's warning about a recoverable problem, if it gave one (PNG only).
        public var warning: String?
    }

    /// Decodes a PNG or JPEG held in memory, chosen by its signature.
    ///
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - channels: which channels to return (see ``Channels``).
    ///   - dtype: `float32` or `float64`.
    ///   - maximumPixels: the pixel budget: larger images are refused from their header, before
    ///     any pixel memory is allocated (at most ``maximumPixelCount``).
    public static func decodeImage(_ data: Data, channels: Channels = .stored, dtype: DType = .float32,
                                   maximumPixels: Int = maximumPixelCount) throws(ImageIOError) -> DecodedImage {
        switch ImageFormat(sniffing: data) {
        case .png:
            let png = try decodePNG(data, channels: channels, dtype: dtype, maximumPixels: maximumPixels)
            return DecodedImage(pixels: png.pixels, format: .png, storedChannels: png.info.storedChannels,
                                bitDepth: png.info.bitDepth, warning: png.warning)
        case .jpeg:
            let jpeg = try decodeJPEG(data, channels: channels, dtype: dtype, maximumPixels: maximumPixels)
            return DecodedImage(pixels: jpeg.pixels, format: .jpeg, storedChannels: jpeg.info.storedChannels,
                                bitDepth: 8, warning: nil)
        case nil:
            let head = data.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
            throw ImageIOError(.unknownFormat(data.isEmpty ? "the file is empty" : "it starts with \(head)"))
        }
    }

    /// Reads the PNG or JPEG file at `url`, chosen by its contents (see
    /// ``decodeImage(_:channels:dtype:maximumPixels:)``).
    public static func readImage(at url: URL, channels: Channels = .stored, dtype: DType = .float32,
                                 maximumPixels: Int = maximumPixelCount) throws(ImageIOError) -> DecodedImage {
        try decodingFile(url) { data throws(ImageIOError) in
            try decodeImage(data, channels: channels, dtype: dtype, maximumPixels: maximumPixels)
        }
    }

    /// Reads `url` through ``InputFile`` and decodes its bytes with `decode`, every error naming
    /// the file.
    static func decodingFile<Image>(_ url: URL, _ decode: (Data) throws(ImageIOError) -> Image) throws(ImageIOError) -> Image {
        let data: Data
        do {
            data = try InputFile.read(url)
        } catch {
            throw ImageIOError(.unreadable(error.reason), path: url.path)
        }
        do {
            return try decode(data)
        } catch {
            throw ImageIOError(error.reason, path: url.path)
        }
    }

    /// Writes a `C×H×W` (or `H×W`) tensor atomically, as JPEG when the name ends in `.jpg` or
    /// `.jpeg` (at `jpegQuality`) and as 8-bit PNG otherwise.
    public static func writeImage(_ tensor: Tensor, to url: URL, jpegQuality: Int = 95) throws(ImageIOError) {
        switch ImageFormat(forWriting: url) {
        case .png:
            try writePNG(tensor, to: url)
        case .jpeg:
            try writingFile(url) { () throws(ImageIOError) in try encodeJPEG(tensor, quality: jpegQuality) }
        }
    }

    /// Encodes with `encode` and replaces `url` atomically with the bytes, every error naming the
    /// file; on failure `url` keeps its old contents.
    static func writingFile(_ url: URL, _ encode: () throws(ImageIOError) -> Data) throws(ImageIOError) {
        let data: Data
        do {
            data = try encode()
        } catch {
            throw ImageIOError(error.reason, path: url.path)
        }
        do {
            try AtomicFile.write(data, to: url)
        } catch {
            throw ImageIOError(.writeFailed(error.description), path: url.path)
        }
    }
}

extension Tensor {
    /// Reads a PNG or JPEG file (told apart by its contents) as a `C×H×W` tensor in `[0, 1]`.
    ///
    /// - Throws: ``ImageIOError`` naming the file when it is missing, corrupt, truncated or of
    ///   another format.
    public static func readImage(at url: URL, channels: ImageIO.Channels = .stored, dtype: DType = .float32,
                                 maximumPixels: Int = ImageIO.maximumPixelCount) throws(ImageIOError) -> Tensor {
        try ImageIO.readImage(at: url, channels: channels, dtype: dtype, maximumPixels: maximumPixels).pixels
    }

    /// Writes this `C×H×W` (or `H×W`) tensor atomically: JPEG for `.jpg`/`.jpeg` names, else PNG.
    public func writeImage(to url: URL, jpegQuality: Int = 95) throws(ImageIOError) {
        try ImageIO.writeImage(self, to: url, jpegQuality: jpegQuality)
    }
}
