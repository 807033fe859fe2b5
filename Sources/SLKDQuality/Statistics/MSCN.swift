import Foundation

/// Mean-subtracted contrast-normalised coefficients (Mittal et al. 2012, eq. 1):
/// MSCN = (I − μ)/(σ + C), μ = w ⋆ I, σ = sqrt(|w ⋆ I² − μ²|), w the 7×7 Gaussian with σ = 7/6.
public enum MSCN {
    /// The options of one MSCN computation.
    public struct Options: Sendable, Equatable {
        /// Border handling of the Gaussian window (LIVE BRISQUE: zero; piqe.m: replicate).
        public var padding: BorderPadding
        /// The stabilising constant C (1 on the 0–255 scale).
        public var c: Double
        /// |I − μ| below this is set to 0 before dividing. In exactly flat windows I − μ is
        /// rounding noise (~1e-14) whose sign would otherwise decide BRISQUE's σ_l/σ_r split
        /// (Docs/Quality.md#flat-window-snap); 1e-9 is the canonical rule of the reference vectors, 0 disables.
        public var snapThreshold: Double

        public init(padding: BorderPadding = .zero, c: Double = 1, snapThreshold: Double = 1e-9) {
            self.padding = padding
            self.c = c
            self.snapThreshold = snapThreshold
        }

        /// LIVE `brisque_feature.m` with the canonical flat-region snap.
        public static let brisque = Options()
        /// MathWorks `piqe.m`: replicate padding, no snap.
        public static let piqe = Options(padding: .replicate, c: 1, snapThreshold: 0)
    }

    /// The window: `fspecial('gaussian', 7, 7/6)` as its normalised separable factor.
    public static let window = Filtering.gaussianKernel(size: 7, sigma: 7.0 / 6.0)

    /// Pixels computed together by ``coefficients(_:width:height:options:)``: its temporaries
    /// (the band's copy and squares, local mean, second moment and the filter's intermediate row
    /// pass, each 8 bytes a pixel) cover one band plus a halo instead of the whole image, about
    /// 12 MiB whatever the image's size. A fixed number of rows would grow with the width, and
    /// so add bytes per pixel to square images as they grow (4 at 256 rows).
    public static let bandPixels = 1 << 18

    /// Rows computed together for a plane `width` pixels wide: ``bandPixels`` worth, at least 16
    /// (so that the 6-row halo stays a small part of each band).
    public static func bandRows(width: Int) -> Int { Swift.max(16, bandPixels / Swift.max(width, 1)) }

    /// MSCN coefficients of one plane (row-major, `width`×`height`).
    ///
    /// Computed in bands of ``bandRows(width:)`` rows, each with the window's half-height of neighbouring
    /// rows above and below, so that memory beyond the input and the output is one band's worth.
    /// Every output value sums the same products in the same order as a whole-image pass: the
    /// result is identical, bit for bit.
    public static func coefficients(_ plane: [Double], width: Int, height: Int,
                                    options: Options = .brisque) -> [Double] {
        coefficients(width: width, height: height, options: options) { rows in Array(plane[(rows.lowerBound * width)..<(rows.upperBound * width)]) }
    }

    /// MSCN coefficients of a `width`×`height` plane whose rows `band(rows)` returns on demand,
    /// row-major, a band of ``bandRows(width:)`` rows (plus halo) at a time: a caller whose plane is a
    /// view of another (PIQE's replicate-padded image) never builds the whole plane.
    static func coefficients(width: Int, height: Int, options: Options,
                             band rowsOf: (Range<Int>) -> [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: width * height)
        let halo = window.count / 2, rowsPerBand = Self.bandRows(width: width)
        var top = 0
        while top < height {
            let bottom = Swift.min(height, top + rowsPerBand)
            let lo = Swift.max(0, top - halo), hi = Swift.min(height, bottom + halo)
            // Rows lo..<hi; the filter pads only at lo and hi, which are image borders or halo rows
            // whose own outputs are not kept.
            let band = rowsOf(lo..<hi)
            let rows = hi - lo
            let mu = Filtering.correlateSeparable(band, width: width, height: rows, kernel: window, padding: options.padding)
            let second = Filtering.correlateSeparable(band.map { $0 * $0 }, width: width, height: rows, kernel: window,
                                                      padding: options.padding)
            let c = options.c, snap = options.snapThreshold
            let first = (top - lo) * width, count = (bottom - top) * width
            band.withUnsafeBufferPointer { x in
                mu.withUnsafeBufferPointer { mu in
                    second.withUnsafeBufferPointer { second in
                        out.withUnsafeMutableBufferPointer { out in
                            for i in first..<(first + count) {
                                let sigma = sqrt(abs(second[i] - mu[i] * mu[i]))
                                var centred = x[i] - mu[i]
                                if abs(centred) < snap { centred = 0 }
                                out[top * width + i - first] = centred / (sigma + c)
                            }
                        }
                    }
                }
            }
            top = bottom
        }
        return out
    }
}
