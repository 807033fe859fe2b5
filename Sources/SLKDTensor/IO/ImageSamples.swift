import Foundation

/// Conversions between interleaved 8-bit samples, as image codecs hand them over, and planar
/// `C×H×W` tensors with values in `[0, 1]`.
extension ImageIO {
    /// The requested channels of an interleaved 8-bit image (colour channels first, alpha last),
    /// as a planar tensor with values `sample / 255`. Gray is ITU-R BT.601 luma
    /// (0.299 R + 0.587 G + 0.114 B, unrounded), as for PNG.
    static func planarPixels(interleaved8Bit samples: [UInt8], storedChannels stored: Int, hasAlpha: Bool,
                             width: Int, height: Int, channels: Channels, dtype: DType) -> Tensor {
        let n = width * height
        let colorCount = stored - (hasAlpha ? 1 : 0)
        let hasColor = colorCount == 3
        /// One output plane: a function of the pixel index.
        typealias Plane = (Int) -> Double
        func sample(_ k: Int) -> Plane { { Double(samples[$0 * stored + k]) / 255 } }
        let alpha: Plane = hasAlpha ? sample(stored - 1) : { _ in 1 }
        let color = (0..<colorCount).map(sample)
        let gray: Plane = hasColor
            ? { 0.299 * color[0]($0) + 0.587 * color[1]($0) + 0.114 * color[2]($0) } : color[0]
        let rgb = hasColor ? color : [color[0], color[0], color[0]]
        let planes: [Plane]
        switch channels {
        case .stored: planes = color
        case .storedWithAlpha: planes = hasAlpha ? color + [alpha] : color
        case .gray: planes = [gray]
        case .grayAlpha: planes = [gray, alpha]
        case .rgb: planes = rgb
        case .rgba: planes = rgb + [alpha]
        }
        let shape = [planes.count, height, width]
        if dtype == .float64 {
            return Tensor.make(shape, Double.self) { out in
                for (k, plane) in planes.enumerated() { for i in 0..<n { out[k * n + i] = plane(i) } }
            }
        }
        return Tensor.make(shape, Float.self) { out in
            for (k, plane) in planes.enumerated() { for i in 0..<n { out[k * n + i] = Float(plane(i)) } }
        }
    }

    /// A `C×H×W` (or `H×W`) tensor as interleaved 8-bit samples: clamped to `[0, 1]` and
    /// quantised as `floor(x · 255 + 0.5)`, NaN as 0.
    static func interleaved8Bit(_ tensor: Tensor, allowedChannels: Set<Int>,
                                format: String) throws(ImageIOError) -> (samples: [UInt8], channels: Int, height: Int, width: Int) {
        guard tensor.dtype.isFloatingPoint else {
            throw ImageIOError(.unsupportedTensor("dtype is \(tensor.dtype), expected float32 or float64"))
        }
        let shape = tensor.rank == 2 ? [1] + tensor.shape : tensor.shape
        guard shape.count == 3 else {
            throw ImageIOError(.unsupportedTensor("shape \(tensor.shape) is not C×H×W or H×W"))
        }
        let (c, h, w) = (shape[0], shape[1], shape[2])
        guard allowedChannels.contains(c) else {
            throw ImageIOError(.unsupportedTensor("\(c) channels cannot be stored as \(format) (allowed: \(allowedChannels.sorted()))"))
        }
        guard h > 0, w > 0, h <= 65_535, w <= 65_535, h * w <= maximumPixelCount else {
            throw ImageIOError(.unsupportedTensor("\(w)×\(h) pixels cannot be written as \(format)"))
        }
        let values = tensor.detached().doubles
        let n = h * w
        var samples = [UInt8](repeating: 0, count: n * c)
        for k in 0..<c {
            for i in 0..<n {
                let x = values[k * n + i]
                samples[i * c + k] = x.isNaN ? 0 : UInt8((Swift.min(Swift.max(x, 0), 1) * 255 + 0.5).rounded(.down))
            }
        }
        return (samples, c, h, w)
    }
}
