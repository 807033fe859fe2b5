import CSLKDTurboJPEG
import Foundation

/// JPEG through libjpeg-turbo's TurboJPEG API.
///
/// Decoding uses libjpeg's default settings — the accurate integer IDCT and fancy (smooth) chroma
/// upsampling — which are also Pillow's, so a file decodes to the same 8-bit samples here and in
/// `PIL.Image.open(path).convert(…)`. A warning from the decoder (a truncated or corrupt entropy
/// stream that libjpeg would paper over with grey blocks) is an error: a dataset image that is
/// partly grey should not train a model silently. CMYK and YCCK files are refused.
extension ImageIO {
    /// What a JPEG file holds.
    public struct JPEGInfo: Sendable, Equatable {
        /// Columns.
        public var width: Int
        /// Rows.
        public var height: Int
        /// 1 for greyscale files, 3 for colour (YCbCr or RGB) files.
        public var storedChannels: Int
    }

    /// Decodes a JPEG held in memory into a `C×H×W` tensor with values `sample / 255`.
    ///
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - channels: which channels to return (see ``Channels``).
    ///   - dtype: `float32` or `float64`.
    ///   - maximumPixels: refuse images with more pixels than this, from the header, before any
    ///     pixel memory is allocated (at most ``maximumPixelCount``). Memory: the file's 8-bit
    ///     samples once and the returned tensor.
    public static func decodeJPEG(_ data: Data, channels: Channels = .stored, dtype: DType = .float32,
                                  maximumPixels: Int = maximumPixelCount) throws(ImageIOError) -> (pixels: Tensor, info: JPEGInfo) {
        guard dtype.isFloatingPoint else {
            throw ImageIOError(.unsupportedTensor("images decode to float32 or float64, not \(dtype)"))
        }
        guard let handle = tjInitDecompress() else { throw ImageIOError(.invalidJPEG("cannot start the decoder")) }
        defer { tjDestroy(handle) }
        let result: Result<(Tensor, JPEGInfo), ImageIOError> = data.withUnsafeBytes { raw in
            Result { () throws(ImageIOError) in
                try decode(raw.bindMemory(to: UInt8.self), handle: handle, channels: channels, dtype: dtype,
                           limit: Swift.min(maximumPixels, maximumPixelCount))
            }
        }
        let (pixels, info) = try result.get()
        return (pixels, info)
    }

    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, handle: tjhandle, channels: Channels,
                               dtype: DType, limit: Int) throws(ImageIOError) -> (Tensor, JPEGInfo) {
        guard let base = bytes.baseAddress, bytes.count > 0, bytes.count <= Int(UInt32.max) else {
            throw ImageIOError(.invalidJPEG("empty or larger than 4 GiB"))
        }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, base, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw ImageIOError(.invalidJPEG(errorMessage(handle)))
        }
        let w = Int(width), h = Int(height)
        let (pixelCount, overflow) = w.multipliedReportingOverflow(by: h)
        guard w > 0, h > 0, !overflow, pixelCount <= limit else {
            throw ImageIOError(.imageTooLarge(width: w, height: h, limit: limit))
        }
        let isGray = colorspace == Int32(TJCS_GRAY.rawValue)
        guard isGray || (colorspace != Int32(TJCS_CMYK.rawValue) && colorspace != Int32(TJCS_YCCK.rawValue)) else {
            throw ImageIOError(.invalidJPEG("CMYK and YCCK JPEGs are not supported; convert the file to RGB"))
        }
        let stored = isGray ? 1 : 3
        var buffer = [UInt8](repeating: 0, count: pixelCount * stored)
        let format = isGray ? TJPF_GRAY : TJPF_RGB
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING
        let status = buffer.withUnsafeMutableBufferPointer { out in
            tjDecompress2(handle, base, UInt(bytes.count), out.baseAddress, width, 0, height, Int32(format.rawValue), flags)
        }
        guard status == 0 else { throw ImageIOError(.invalidJPEG(errorMessage(handle))) }
        let info = JPEGInfo(width: w, height: h, storedChannels: stored)
        let layout = InterleavedSampleLayout(channels: stored, pixels: pixelCount, hasColor: !isGray, hasAlpha: false)
        let pixels = layout.tensor(channels, dtype: dtype, height: h, width: w) { Double(buffer[$0]) / 255 }
        return (pixels, info)
    }

    /// Encodes a `C×H×W` (or `H×W` gray) tensor with values in `[0, 1]` as a baseline JPEG.
    ///
    /// Values are clamped and rounded half up to 8 bits, as for PNG; NaN becomes 0. `C` is 1
    /// (stored as a greyscale JPEG) or 3 (YCbCr with 4:2:0 chroma subsampling, libjpeg's default,
    /// or 4:4:4 when `fullChroma`). Alpha cannot be stored in a JPEG.
    public static func encodeJPEG(_ tensor: Tensor, quality: Int = 95, fullChroma: Bool = false) throws(ImageIOError) -> Data {
        guard (1...100).contains(quality) else {
            throw ImageIOError(.unsupportedTensor("JPEG quality \(quality) is outside 1...100"))
        }
        let (samples, c, h, w) = try interleaved8Bit(tensor, allowedChannels: [1, 3], format: "JPEG")
        guard let handle = tjInitCompress() else { throw ImageIOError(.encodingFailed("cannot start the encoder")) }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        defer { if let output { tjFree(output) } }
        let subsampling = c == 1 ? TJSAMP_GRAY : (fullChroma ? TJSAMP_444 : TJSAMP_420)
        let status = samples.withUnsafeBufferPointer { input in
            tjCompress2(handle, input.baseAddress, Int32(w), 0, Int32(h), Int32((c == 1 ? TJPF_GRAY : TJPF_RGB).rawValue),
                        &output, &size, Int32(subsampling.rawValue), Int32(quality), TJFLAG_ACCURATEDCT)
        }
        guard status == 0, let output else { throw ImageIOError(.encodingFailed(errorMessage(handle))) }
        return Data(bytes: output, count: Int(size))
    }

    /// TurboJPEG's message for the last call on `handle`.
    private static func errorMessage(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "libjpeg-turbo reported no message" }
        return String(cString: text)
    }
}
