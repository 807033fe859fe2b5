import Foundation

/// How a filter reads pixels outside the image.
public enum BorderPadding: Sendable, Equatable {
    /// Outside pixels are 0 (MATLAB `filter2`, LIVE BRISQUE).
    case zero
    /// Outside pixels repeat the nearest edge pixel (`imgaussfilt(..., 'Padding', 'replicate')`).
    case replicate
}

/// Separable correlation of single-channel planes with odd symmetric kernels.
public enum Filtering {
    /// The normalised 1-D Gaussian of `size` taps, exp(−k²/(2σ²)) over k = −size/2…size/2.
    /// Its outer product is `fspecial('gaussian', size, sigma)` (and OpenCV's `getGaussianKernel`).
    public static func gaussianKernel(size: Int, sigma: Double) -> [Double] {
        precondition(size > 0 && size % 2 == 1, "Gaussian kernel size must be odd and positive, got \(size)")
        let half = size / 2
        let raw = (-half...half).map { k in exp(-Double(k * k) / (2 * sigma * sigma)) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    /// `filter2(outer(k, k), plane, 'same')`: rows first, then columns, with the given border.
    public static func correlateSeparable(_ plane: [Double], width: Int, height: Int, kernel: [Double],
                                          padding: BorderPadding) -> [Double] {
        precondition(plane.count == width * height, "plane holds \(plane.count) values, not \(width)×\(height)")
        var horizontal = [Double](repeating: 0, count: plane.count)
        var output = [Double](repeating: 0, count: plane.count)
        kernel.withUnsafeBufferPointer { k in
            plane.withUnsafeBufferPointer { src in
                horizontal.withUnsafeMutableBufferPointer { tmp in
                    output.withUnsafeMutableBufferPointer { dst in
                        let tmp = UncheckedSendable(tmp.baseAddress!), dst = UncheckedSendable(dst.baseAddress!)
                        let src = src.baseAddress!
                        Parallel.forChunks(height, grain: 32) { rows in
                            for y in rows {
                                correlateRow(src + y * width, count: width, kernel: k, padding: padding,
                                             into: tmp.value + y * width)
                            }
                        }
                        Parallel.forChunks(height, grain: 32) { rows in
                            for y in rows {
                                correlateColumns(UnsafePointer(tmp.value), width: width, height: height, row: y,
                                                 kernel: k, padding: padding, into: dst.value + y * width)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// out[x] = Σ_t k[t]·in[x + t − half] along one row, as one shifted multiply-add per tap so
    /// that the inner loop runs over contiguous pixels.
    @inline(__always)
    static func correlateRow(_ input: UnsafePointer<Double>, count n: Int, kernel k: UnsafeBufferPointer<Double>,
                             padding: BorderPadding, into out: UnsafeMutablePointer<Double>) {
        let half = k.count / 2
        for x in 0..<n { out[x] = 0 }
        for t in 0..<k.count {
            let o = t - half, w = k[t]
            let lo = Swift.max(0, -o), hi = Swift.min(n, n - o)
            if lo < hi { for x in lo..<hi { out[x] += w * input[x + o] } }
            if padding == .replicate {
                for x in 0..<Swift.min(lo, n) { out[x] += w * input[0] }
                for x in Swift.max(hi, 0)..<n { out[x] += w * input[n - 1] }
            }
        }
    }

    /// Output row `row` of the vertical correlation: Σ_t k[t]·(row `row + t − half`).
    @inline(__always)
    static func correlateColumns(_ input: UnsafePointer<Double>, width: Int, height: Int, row: Int,
                                 kernel k: UnsafeBufferPointer<Double>, padding: BorderPadding,
                                 into out: UnsafeMutablePointer<Double>) {
        let half = k.count / 2
        for x in 0..<width { out[x] = 0 }
        for t in 0..<k.count {
            var r = row + t - half
            if r < 0 || r >= height {
                if padding == .zero { continue }
                r = Swift.min(height - 1, Swift.max(0, r))
            }
            let w = k[t], line = input + r * width
            for x in 0..<width { out[x] += w * line[x] }
        }
    }
}

