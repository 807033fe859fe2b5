/// Interleaved samples, as libpng and libjpeg-turbo hand them over, to planar tensor channels,
/// written straight into the tensor's storage so that decoding keeps no intermediate planes (a
/// `[Double]` per channel cost 8 bytes per sample).
struct InterleavedSampleLayout {
    /// Samples per pixel as stored (colour planes first, alpha last).
    let channels: Int
    let pixels: Int
    let hasColor: Bool
    let hasAlpha: Bool

    /// The requested channels as a `C×H×W` tensor; `sample(i)` is interleaved sample `i` in [0, 1].
    /// Values are computed in Double and rounded once to the dtype, as the planes were before.
    func tensor(_ request: ImageIO.Channels, dtype: DType, height: Int, width: Int,
                sample: (Int) -> Double) -> Tensor {
        let sources = planes(for: request)
        let shape = [sources.count, height, width]
        let n = pixels
        if dtype == .float64 {
            return Tensor.make(shape, Double.self) { out in
                for (k, source) in sources.enumerated() { for i in 0..<n { out[k * n + i] = value(source, i, sample) } }
            }
        }
        return Tensor.make(shape, Float.self) { out in
            for (k, source) in sources.enumerated() { for i in 0..<n { out[k * n + i] = Float(value(source, i, sample)) } }
        }
    }

    /// Where an output channel comes from.
    enum Source {
        case stored(Int)
        /// ITU-R BT.601 luma of the three colour samples.
        case luma
        /// Alpha 1 for files without alpha.
        case opaque
    }

    @inline(__always)
    private func value(_ source: Source, _ i: Int, _ sample: (Int) -> Double) -> Double {
        switch source {
        case .stored(let k): return sample(i * channels + k)
        case .luma:
            let base = i * channels
            return 0.299 * sample(base) + 0.587 * sample(base + 1) + 0.114 * sample(base + 2)
        case .opaque: return 1
        }
    }

    private func planes(for request: ImageIO.Channels) -> [Source] {
        let color: [Source] = hasColor ? [.stored(0), .stored(1), .stored(2)] : [.stored(0)]
        let alpha: Source = hasAlpha ? .stored(channels - 1) : .opaque
        let gray: Source = hasColor ? .luma : .stored(0)
        let rgb: [Source] = hasColor ? color : [.stored(0), .stored(0), .stored(0)]
        switch request {
        case .stored: return color
        case .storedWithAlpha: return hasAlpha ? color + [alpha] : color
        case .gray: return [gray]
        case .grayAlpha: return [gray, alpha]
        case .rgb: return rgb
        case .rgba: return rgb + [alpha]
        }
    }
}
