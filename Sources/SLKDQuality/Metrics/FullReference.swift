import Foundation

/// PSNR and SSIM with BasicSR's conventions (`basicsr/metrics/psnr_ssim.py`, Docs/Quality.md#psnr-ssim).
public enum FullReference {
    /// Which pixels the metrics compare.
    public struct Options: Sendable, Equatable {
        /// Compare BasicSR's Y channel (RGB inputs only; grey images are used as they are).
        public var testYChannel: Bool
        /// Pixels removed from each side before comparing.
        public var cropBorder: Int

        public init(testYChannel: Bool = true, cropBorder: Int = 0) {
            precondition(cropBorder >= 0, "cropBorder must be non-negative, got \(cropBorder)")
            self.testYChannel = testYChannel
            self.cropBorder = cropBorder
        }
    }

    /// The planes the metrics compare, after Y conversion and cropping.
    static func prepare(_ image: QualityImage, _ reference: QualityImage, options: Options,
                        metric: String) throws -> (planes: [([Double], [Double])], width: Int, height: Int) {
        try image.validate(metric)
        try reference.validate(metric)
        guard image.width == reference.width, image.height == reference.height, image.channels == reference.channels
        else {
            throw QualityError.sizeMismatch("\(metric): image \(image.width)×\(image.height)×\(image.channels) vs "
                + "reference \(reference.width)×\(reference.height)×\(reference.channels)")
        }
        let c = options.cropBorder
        let w = image.width - 2 * c, h = image.height - 2 * c
        guard w > 0, h > 0 else {
            throw QualityError.imageTooSmall("\(metric): cropping \(c) pixels leaves nothing of \(image.width)×\(image.height)")
        }
        func crop(_ plane: ArraySlice<Double>) -> [Double] {
            var out = [Double]()
            out.reserveCapacity(w * h)
            let base = plane.startIndex
            for y in c..<(c + h) { out += plane[(base + y * image.width + c)..<(base + y * image.width + c + w)] }
            return out
        }
        if options.testYChannel && image.channels == 3 {
            let a = ColorConversion.basicSRLuma(image), b = ColorConversion.basicSRLuma(reference)
            return ([(crop(a[...]), crop(b[...]))], w, h)
        }
        return ((0..<image.channels).map { (crop(image.plane($0)), crop(reference.plane($0))) }, w, h)
    }

    /// PSNR = 10·log10(255²/MSE) over all compared pixels (+∞ for identical images).
    public static func psnr(_ image: QualityImage, _ reference: QualityImage, options: Options = .init()) throws -> Double {
        let (planes, _, _) = try prepare(image, reference, options: options, metric: "PSNR")
        var total = 0.0, count = 0
        for (a, b) in planes {
            for i in 0..<a.count {
                let d = a[i] - b[i]
                total += d * d
            }
            count += a.count
        }
        let mse = total / Double(count)
        if mse == 0 { return .infinity }
        return 10 * log10(255 * 255 / mse)
    }

    /// SSIM (Wang et al. 2004): 11×11 Gaussian window (σ 1.5), C1 = (0.01·255)², C2 = (0.03·255)²,
    /// the mean of the map over the valid region, averaged over the compared channels.
    /// Throws when the compared region is smaller than the window.
    public static func ssim(_ image: QualityImage, _ reference: QualityImage, options: Options = .init()) throws -> Double {
        let (planes, w, h) = try prepare(image, reference, options: options, metric: "SSIM")
        guard w >= 11, h >= 11 else {
            throw QualityError.imageTooSmall("SSIM: the compared region \(w)×\(h) is smaller than the 11×11 window")
        }
        let total = planes.reduce(0.0) { $0 + ssimPlane($1.0, $1.1, width: w, height: h) }
        return total / Double(planes.count)
    }

    /// The window of `ssim`, as OpenCV's `getGaussianKernel(11, 1.5)`.
    static let ssimWindow = Filtering.gaussianKernel(size: 11, sigma: 1.5)

    /// Mean SSIM of one plane over the valid region.
    static func ssimPlane(_ a: [Double], _ b: [Double], width w: Int, height h: Int) -> Double {
        let c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255)
        let k = ssimWindow
        let ow = w - 10, oh = h - 10
        // Valid correlation, separable: columns of each row first into a (h × ow) buffer.
        func valid(_ p: [Double]) -> [Double] {
            var horizontal = [Double](repeating: 0, count: h * ow)
            for y in 0..<h {
                for x in 0..<ow {
                    var acc = 0.0
                    for t in 0..<11 { acc += k[t] * p[y * w + x + t] }
                    horizontal[y * ow + x] = acc
                }
            }
            var out = [Double](repeating: 0, count: oh * ow)
            for y in 0..<oh {
                for x in 0..<ow {
                    var acc = 0.0
                    for t in 0..<11 { acc += k[t] * horizontal[(y + t) * ow + x] }
                    out[y * ow + x] = acc
                }
            }
            return out
        }
        let mu1 = valid(a), mu2 = valid(b)
        let s11 = valid(a.map { $0 * $0 }), s22 = valid(b.map { $0 * $0 }), s12 = valid(zip(a, b).map { $0 * $1 })
        var total = 0.0
        for i in 0..<mu1.count {
            let m1 = mu1[i], m2 = mu2[i]
            let v1 = s11[i] - m1 * m1, v2 = s22[i] - m2 * m2, cov = s12[i] - m1 * m2
            total += ((2 * m1 * m2 + c1) * (2 * cov + c2)) / ((m1 * m1 + m2 * m2 + c1) * (v1 + v2 + c2))
        }
        return total / Double(mu1.count)
    }
}
