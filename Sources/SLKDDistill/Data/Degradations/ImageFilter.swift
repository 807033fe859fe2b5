/// Two-dimensional filtering of image planes with reflect padding (the border handling of
/// `scipy.ndimage`'s `mode='reflect'`: the edge pixel is repeated, `d c b a | a b c d`).
package enum ImageFilter {
    /// Index into `0..<n` reflected at both edges (half-sample symmetric).
    @inline(__always)
    package static func reflect(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var j = i
        let period = 2 * n
        j %= period
        if j < 0 { j += period }
        return j < n ? j : period - 1 - j
    }

    /// Correlates every plane with a `kh×kw` kernel centred at (kh/2, kw/2).
    package static func correlate(_ planes: ImagePlanes, kernel: [Float], kh: Int, kw: Int) -> ImagePlanes {
        let h = planes.height, w = planes.width
        let ch = kh / 2, cw = kw / 2
        var out = [Float](repeating: 0, count: planes.values.count)
        let rowIndex = (0..<(h + kh)).map { reflect($0 - ch, h) }
        let colIndex = (0..<(w + kw)).map { reflect($0 - cw, w) }
        planes.values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<planes.channels {
                    let s = src.baseAddress! + c * h * w, d = dst.baseAddress! + c * h * w
                    for y in 0..<h {
                        for x in 0..<w {
                            var acc: Float = 0
                            for i in 0..<kh {
                                let row = s + rowIndex[y + i] * w
                                for j in 0..<kw { acc += kernel[i * kw + j] * row[colIndex[x + j]] }
                            }
                            d[y * w + x] = acc
                        }
                    }
                }
            }
        }
        var result = planes
        result.values = out
        return result
    }

    /// A normalised isotropic Gaussian kernel of side 2·radius+1.
    package static func gaussianKernel(sigma: Double, radius: Int) -> [Float] {
        var weights: [Double] = []
        for i in -radius...radius {
            for j in -radius...radius { weights.append(Double.exp(-Double(i * i + j * j) / (2 * sigma * sigma))) }
        }
        let total = weights.reduce(0, +)
        return weights.map { Float($0 / total) }
    }
}
