import Foundation

/// The layout of a tensor written as an image, and its conversion to interleaved 8-bit samples
/// (decoding the other way goes through ``InterleavedSampleLayout``).
extension ImageIO {
    /// The channel count, height and width of a `C×H×W` (or `H×W`, one channel) float tensor
    /// that is to be written as an image.
    static func imageLayout(of tensor: Tensor) throws(ImageIOError) -> (channels: Int, height: Int, width: Int) {
        guard tensor.dtype.isFloatingPoint else {
            throw ImageIOError(.unsupportedTensor("dtype is \(tensor.dtype), expected float32 or float64"))
        }
        let shape = tensor.rank == 2 ? [1] + tensor.shape : tensor.shape
        guard shape.count == 3 else {
            throw ImageIOError(.unsupportedTensor("shape \(tensor.shape) is not C×H×W or H×W"))
        }
        return (shape[0], shape[1], shape[2])
    }

    /// A `C×H×W` (or `H×W`) tensor as interleaved 8-bit samples: clamped to `[0, 1]` and
    /// quantised as `floor(x · 255 + 0.5)`, NaN as 0.
    static func interleaved8Bit(_ tensor: Tensor, allowedChannels: Set<Int>,
                                format: String) throws(ImageIOError) -> (samples: [UInt8], channels: Int, height: Int, width: Int) {
        let (c, h, w) = try imageLayout(of: tensor)
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
