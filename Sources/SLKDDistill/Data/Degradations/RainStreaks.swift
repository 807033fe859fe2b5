import SLKDTensor

/// Synthetic rain: sparse random drops smeared into oriented, slightly blurred streaks and added
/// to every channel (rain is achromatic), as the Rain100/Rain13K synthesis does.
public struct RainStreaks: Degradation {
    /// Fraction of pixels that seed a drop.
    public var density: ClosedRange<Double>
    /// Streak length in pixels.
    public var length: ClosedRange<Double>
    /// Streak angle from vertical, in degrees.
    public var angle: ClosedRange<Double>
    /// Peak brightness added by a streak.
    public var intensity: ClosedRange<Double>

    public init(density: ClosedRange<Double> = 0.002...0.01, length: ClosedRange<Double> = 8...20,
                angle: ClosedRange<Double> = -25...25, intensity: ClosedRange<Double> = 0.6...0.9) {
        self.density = density
        self.length = length
        self.angle = angle
        self.intensity = intensity
    }

    /// The streak kernel: an anti-aliased line through the centre, blurred across by σ = 0.6 px,
    /// with its peak scaled to 1.
    public static func streakKernel(length: Double, degrees: Double) -> (weights: [Float], side: Int) {
        let side = 2 * Int((length / 2).rounded(.up)) + 3
        let c = Double(side / 2)
        let theta = degrees * Double.pi / 180
        let dx = Double.sin(theta), dy = Double.cos(theta)
        var weights = [Double](repeating: 0, count: side * side)
        for i in 0..<side {
            for j in 0..<side {
                let x = Double(j) - c, y = Double(i) - c
                let along = x * dx + y * dy
                let across = x * dy - y * dx
                guard Swift.abs(along) <= length / 2 else { continue }
                weights[i * side + j] = Double.exp(-across * across / (2 * 0.36))
            }
        }
        let peak = weights.max() ?? 1
        return (weights.map { Float($0 / peak) }, side)
    }

    public func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor {
        var planes = ImagePlanes(image)
        let h = planes.height, w = planes.width
        let p = generator.draw(density)
        var drops = ImagePlanes(channels: 1, height: h, width: w, values: [Float](repeating: 0, count: h * w))
        for i in 0..<(h * w) where generator.nextUnit() < p {
            drops.values[i] = Float(0.5 + 0.5 * generator.nextUnit())
        }
        let (kernel, side) = Self.streakKernel(length: generator.draw(length), degrees: generator.draw(angle))
        let streaks = ImageFilter.correlate(drops, kernel: kernel, kh: side, kw: side)
        let gain = Float(generator.draw(intensity))
        for c in 0..<planes.channels {
            for i in 0..<(h * w) { planes.values[c * h * w + i] += gain * Swift.min(streaks.values[i], 1) }
        }
        return planes.tensor(dtype: image.dtype)
    }
}
