/// Colour conversions used by the metrics, each as its reference implementation defines it.
public enum ColorConversion {
    /// The first row of inv(NTSC) that MATLAB's `rgb2gray` uses.
    public static let matlabGrayWeights = (r: 0.29893602129377533, g: 0.5870430744511214, b: 0.11402090425510324)

    /// MATLAB `rgb2gray(uint8(I))` on 0–255 values: each channel is first quantised as `uint8`
    /// would (round half away from zero, saturate to 0…255), and the weighted sum is rounded
    /// again, so the result holds integers 0…255. A grey image is quantised the same way.
    public static func matlabGray(_ image: QualityImage) -> [Double] {
        let n = image.width * image.height
        return image.pixels.withUnsafeBufferPointer { p in
            if image.channels == 1 {
                // An 8-bit grey file is already uint8-valued: share its pixels rather than copy them.
                if !p.contains(where: { $0 != uint8($0) }) { return image.pixels }
                return (0..<n).map { uint8(p[$0]) }
            }
            precondition(image.channels == 3, "matlabGray needs 1 or 3 channels")
            return (0..<n).map { i in matlabGray(red: p[i], green: p[n + i], blue: p[2 * n + i]) }
        }
    }

    /// MATLAB `rgb2gray(uint8(I))` of one pixel on 0–255 values (see ``matlabGray(_:)``): the
    /// channels quantised as `uint8`, weighted, and the sum quantised again. A reader that needs
    /// only the grey plane can convert while it decodes, without an RGB float64 copy.
    @inlinable
    public static func matlabGray(red: Double, green: Double, blue: Double) -> Double {
        let w = matlabGrayWeights
        return uint8(w.r * uint8(red) + w.g * uint8(green) + w.b * uint8(blue))
    }

    /// BasicSR's Y channel (ITU-R BT.601, studio range) on 0–255 values, unrounded:
    /// Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255. A grey image is returned as it is.
    public static func basicSRLuma(_ image: QualityImage) -> [Double] {
        let n = image.width * image.height
        if image.channels == 1 { return Array(image.pixels) }
        precondition(image.channels == 3, "basicSRLuma needs 1 or 3 channels")
        return image.pixels.withUnsafeBufferPointer { p in
            (0..<n).map { (i: Int) -> Double in
                let weighted: Double = 65.481 * p[i] + 128.553 * p[n + i] + 24.966 * p[2 * n + i]
                return 16 + weighted / 255
            }
        }
    }

    /// Conversion to `uint8` as MATLAB does it (0–255 values): round half away from zero, then
    /// saturate.
    @inlinable
    public static func uint8(_ v: Double) -> Double {
        Swift.min(255, Swift.max(0, v.rounded(.toNearestOrAwayFromZero)))
    }
}
