import Foundation

/// BRISQUE (Mittal, Moorthy, Bovik 2012): 36 natural-scene statistics and the LIVE ε-SVR score.
///
/// Features follow LIVE `brisque_feature.m` (Docs/Quality.md#brisque-features): per scale
/// [α_GGD, σ²] of the MSCN coefficients, then [α, η, σ_l², σ_r²] of the AGGD of the products of
/// circularly shifted neighbours for the shifts (0,1), (1,0), (1,1), (−1,1); scale 2 is MATLAB
/// `imresize(I, 0.5)` of the scale-1 image.
public enum BRISQUE {
    /// The options of the feature extractor.
    public struct Options: Sendable, Equatable {
        public var mscn: MSCN.Options
        public var estimation: ShapeEstimation

        public init(mscn: MSCN.Options = .brisque, estimation: ShapeEstimation = .grid) {
            self.mscn = mscn
            self.estimation = estimation
        }

        /// LIVE semantics with the canonical flat-region snap.
        public static let live = Options()
    }

    /// The neighbour shifts of the paired products, in LIVE order.
    public static let shifts: [(Int, Int)] = [(0, 1), (1, 0), (1, 1), (-1, 1)]

    /// The 36 features of an image on the 0–255 scale. RGB is converted by MATLAB `rgb2gray` on
    /// `uint8` (rounded); a grey image is used as it is.
    public static func features(_ image: QualityImage, options: Options = .live) throws -> [Double] {
        try image.validate("BRISQUE")
        let grey = image.channels == 3 ? ColorConversion.matlabGray(image) : Array(image.pixels)
        return features(grey: grey, width: image.width, height: image.height, options: options)
    }

    /// The 36 features of a grey plane on the 0–255 scale (no validation).
    public static func features(grey: [Double], width: Int, height: Int, options: Options = .live) -> [Double] {
        var result = [Double]()
        result.reserveCapacity(36)
        var plane = grey, w = width, h = height
        for scale in 0..<2 {
            if scale == 1 { (plane, w, h) = MATLABResize.half(plane, width: w, height: h) }
            result += scaleFeatures(plane, width: w, height: h, options: options)
        }
        return result
    }

    /// The 18 features of one scale.
    static func scaleFeatures(_ plane: [Double], width: Int, height: Int, options: Options) -> [Double] {
        let m = MSCN.coefficients(plane, width: width, height: height, options: options.mscn)
        let ggd = DistributionFit.fitGGD(m, estimation: options.estimation)
        var out = [ggd.alpha, ggd.sigmaSquared]
        // One row of products at a time, summed in row order: the fit is the same as over an
        // image-sized array of them, without its 8 bytes a pixel.
        var row = [Double](repeating: 0, count: width)
        for (dy, dx) in shifts {
            var sums = DistributionFit.AGGDSums()
            // circshift(m, [dy dx]): shifted(i, j) = m((i − dy) mod H, (j − dx) mod W).
            m.withUnsafeBufferPointer { src in
                row.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<height {
                        let si = ((i - dy) % height + height) % height
                        let a = src.baseAddress! + i * width, b = src.baseAddress! + si * width
                        let out = dst.baseAddress!
                        // Columns j with j − dx inside the row, then the wrapped ones.
                        let lo = Swift.min(width, Swift.max(0, dx)), hi = Swift.max(lo, Swift.min(width, width + dx))
                        for j in lo..<hi { out[j] = a[j] * b[j - dx] }
                        for j in 0..<lo { out[j] = a[j] * b[((j - dx) % width + width) % width] }
                        for j in hi..<width { out[j] = a[j] * b[((j - dx) % width + width) % width] }
                        sums.add(UnsafeBufferPointer(dst))
                    }
                }
            }
            let fit = DistributionFit.fitAGGD(sums, estimation: options.estimation)
            out += [fit.alpha, fit.eta, fit.leftSigmaSquared, fit.rightSigmaSquared]
        }
        return out
    }

    /// The BRISQUE score of an image with the LIVE model (lower is better; not bounded).
    public static func score(_ image: QualityImage, options: Options = .live) throws -> Double {
        try Model.live().score(features(image, options: options))
    }
}
