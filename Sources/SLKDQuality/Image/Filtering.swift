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
        let half = kernel.count / 2
        var horizontal = [Double](repeating: 0, count: plane.count)
        var output = [Double](repeating: 0, count: plane.count)
        kernel.withUnsafeBufferPointer { k in
            plane.withUnsafeBufferPointer { src in
                horizontal.withUnsafeMutableBufferPointer { dst in
                    let dst = UncheckedPointer(dst.baseAddress!)
                    Parallel.forChunks(height, grain: 16) { rows in
                        for y in rows {
                            let row = src.baseAddress! + y * width
                            correlateLine(row, count: width, stride: 1, kernel: k, half: half, padding: padding,
                                          into: dst.pointer + y * width, outStride: 1)
                        }
                    }
                }
            }
            horizontal.withUnsafeBufferPointer { src in
                output.withUnsafeMutableBufferPointer { dst in
                    let dst = UncheckedPointer(dst.baseAddress!)
                    Parallel.forChunks(width, grain: 16) { columns in
                        for x in columns {
                            correlateLine(src.baseAddress! + x, count: height, stride: width, kernel: k, half: half,
                                          padding: padding, into: dst.pointer + x, outStride: width)
                        }
                    }
                }
            }
        }
        return output
    }

    /// One line of a 1-D correlation: out[i] = Σ_t k[t]·in[i + t − half], borders per `padding`.
    @inline(__always)
    static func correlateLine(_ input: UnsafePointer<Double>, count n: Int, stride: Int,
                              kernel k: UnsafeBufferPointer<Double>, half: Int, padding: BorderPadding,
                              into out: UnsafeMutablePointer<Double>, outStride: Int) {
        for i in 0..<n {
            var acc = 0.0
            if i >= half && i + half < n {
                var p = input + (i - half) * stride
                for t in 0..<k.count {
                    acc += k[t] * p.pointee
                    p += stride
                }
            } else {
                for t in 0..<k.count {
                    var j = i + t - half
                    if j < 0 || j >= n {
                        if padding == .zero { continue }
                        j = Swift.min(n - 1, Swift.max(0, j))
                    }
                    acc += k[t] * input[j * stride]
                }
            }
            out[i * outStride] = acc
        }
    }
}

/// A mutable pointer that threads write through at disjoint indices.
struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
    init(_ pointer: UnsafeMutablePointer<Double>) { self.pointer = pointer }
}
