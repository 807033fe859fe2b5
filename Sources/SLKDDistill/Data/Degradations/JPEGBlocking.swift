import SLKDTensor

/// JPEG-like compression artefacts: 8×8 block DCT of the YCbCr planes (BT.601, full range),
/// quantised with the standard IJG tables scaled by `quality`, then reconstructed. Chroma is not
/// subsampled and no entropy coding happens — the blocking and ringing are JPEG's, the file is not.
public struct JPEGBlocking: Degradation {
    /// The IJG quality factor range (1–100).
    public var quality: ClosedRange<Double>

    public init(quality: ClosedRange<Double>) {
        precondition(quality.lowerBound >= 1 && quality.upperBound <= 100, "JPEG quality must lie in 1...100")
        self.quality = quality
    }

    /// ITU T.81 Annex K luminance and chrominance quantisation tables.
    package static let luminance: [Double] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ]
    package static let chrominance: [Double] = [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ]

    /// The IJG scaling of a base table to a quality factor.
    package static func scaledTable(_ base: [Double], quality: Int) -> [Double] {
        let q = Swift.min(Swift.max(quality, 1), 100)
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        return base.map { Swift.min(Swift.max(((($0 * Double(scale)) + 50) / 100).rounded(.down), 1), 255) }
    }

    /// The orthonormal 8-point DCT-II matrix.
    package static let dct: [Double] = (0..<64).map { idx in
        let k = idx / 8, n = idx % 8
        let a = k == 0 ? (1.0 / 8).squareRoot() : (2.0 / 8).squareRoot()
        return a * Double.cos(Double.pi * Double((2 * n + 1) * k) / 16)
    }

    /// Quantises one plane (values on 0–255) block by block with `table`, in place.
    package static func compress(_ plane: inout [Double], height: Int, width: Int, table: [Double]) {
        var block = [Double](repeating: 0, count: 64), tmp = block
        for by in stride(from: 0, to: height, by: 8) {
            for bx in stride(from: 0, to: width, by: 8) {
                for i in 0..<8 {
                    for j in 0..<8 {
                        // Edge blocks repeat the last row/column, as encoders pad.
                        let y = Swift.min(by + i, height - 1), x = Swift.min(bx + j, width - 1)
                        block[i * 8 + j] = plane[y * width + x] - 128
                    }
                }
                // coefficients = D · block · Dᵀ, quantised, then block = Dᵀ · coefficients · D.
                for i in 0..<8 { for j in 0..<8 { var s = 0.0; for n in 0..<8 { s += dct[i * 8 + n] * block[n * 8 + j] }; tmp[i * 8 + j] = s } }
                for i in 0..<8 { for j in 0..<8 { var s = 0.0; for n in 0..<8 { s += tmp[i * 8 + n] * dct[j * 8 + n] }; block[i * 8 + j] = (s / table[i * 8 + j]).rounded() * table[i * 8 + j] } }
                for i in 0..<8 { for j in 0..<8 { var s = 0.0; for n in 0..<8 { s += dct[n * 8 + i] * block[n * 8 + j] }; tmp[i * 8 + j] = s } }
                for i in 0..<8 { for j in 0..<8 { var s = 0.0; for n in 0..<8 { s += tmp[i * 8 + n] * dct[n * 8 + j] }; block[i * 8 + j] = s } }
                for i in 0..<8 where by + i < height {
                    for j in 0..<8 where bx + j < width { plane[(by + i) * width + bx + j] = block[i * 8 + j] + 128 }
                }
            }
        }
    }

    public func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor {
        var planes = ImagePlanes(image)
        let q = Int(generator.draw(quality).rounded())
        let h = planes.height, w = planes.width, n = h * w
        let v = planes.values.map { Double($0) * 255 }
        if planes.channels == 3 {
            var y = [Double](repeating: 0, count: n), cb = y, cr = y
            for i in 0..<n {
                let r = v[i], g = v[n + i], b = v[2 * n + i]
                y[i] = 0.299 * r + 0.587 * g + 0.114 * b
                cb[i] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
                cr[i] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
            }
            Self.compress(&y, height: h, width: w, table: Self.scaledTable(Self.luminance, quality: q))
            Self.compress(&cb, height: h, width: w, table: Self.scaledTable(Self.chrominance, quality: q))
            Self.compress(&cr, height: h, width: w, table: Self.scaledTable(Self.chrominance, quality: q))
            for i in 0..<n {
                planes.values[i] = Float((y[i] + 1.402 * (cr[i] - 128)) / 255)
                planes.values[n + i] = Float((y[i] - 0.344136 * (cb[i] - 128) - 0.714136 * (cr[i] - 128)) / 255)
                planes.values[2 * n + i] = Float((y[i] + 1.772 * (cb[i] - 128)) / 255)
            }
        } else {
            for c in 0..<planes.channels {
                var plane = Array(v[(c * n)..<((c + 1) * n)])
                Self.compress(&plane, height: h, width: w, table: Self.scaledTable(Self.luminance, quality: q))
                for i in 0..<n { planes.values[c * n + i] = Float(plane[i] / 255) }
            }
        }
        return planes.tensor(dtype: image.dtype)
    }
}
