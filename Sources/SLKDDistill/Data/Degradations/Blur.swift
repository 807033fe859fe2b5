import SLKDTensor

/// Isotropic Gaussian blur with σ drawn per image (pixels); the kernel spans ±3σ.
public struct GaussianBlur: Degradation {
    public var sigma: ClosedRange<Double>

    public init(sigma: ClosedRange<Double>) {
        precondition(sigma.lowerBound > 0, "blur σ must be positive")
        self.sigma = sigma
    }

    public func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor {
        let s = generator.draw(sigma)
        let radius = Swift.max(1, Int((3 * s).rounded(.up)))
        let kernel = ImageFilter.gaussianKernel(sigma: s, radius: radius)
        let side = 2 * radius + 1
        return ImageFilter.correlate(ImagePlanes(image), kernel: kernel, kh: side, kw: side).tensor(dtype: image.dtype)
    }
}

/// Motion blur along a random camera trajectory: a random walk with momentum, drawn into a
/// kernel by bilinear splatting and normalised (the kernels of synthetic deblurring datasets).
public struct MotionBlur: Degradation {
    /// Kernel side in pixels (odd).
    public var kernelSize: Int
    /// Trajectory length in pixels.
    public var length: ClosedRange<Double>

    public init(kernelSize: Int = 21, length: ClosedRange<Double> = 5...15) {
        precondition(kernelSize % 2 == 1 && kernelSize >= 3, "motion kernel size must be odd and ≥ 3")
        self.kernelSize = kernelSize
        self.length = length
    }

    /// A random normalised kernel, `kernelSize²` weights in row-major order.
    public func kernel(using generator: inout RandomGenerator) -> [Float] {
        let n = kernelSize
        let steps = 64
        let total = Swift.min(generator.draw(length), Double(n - 1))
        var angle = 2 * Double.pi * generator.nextUnit()
        var x = 0.0, y = 0.0
        var points: [(Double, Double)] = [(0, 0)]
        for _ in 0..<steps {
            angle += 0.35 * generator.nextNormal()  // smooth direction changes
            x += Double.cos(angle) * total / Double(steps)
            y += Double.sin(angle) * total / Double(steps)
            points.append((x, y))
        }
        // Centre the trajectory and splat it into the kernel.
        let mx = points.map(\.0).reduce(0, +) / Double(points.count)
        let my = points.map(\.1).reduce(0, +) / Double(points.count)
        var weights = [Double](repeating: 0, count: n * n)
        let c = Double(n / 2)
        for (px, py) in points {
            let fx = Swift.min(Swift.max(px - mx + c, 0), Double(n - 1)), fy = Swift.min(Swift.max(py - my + c, 0), Double(n - 1))
            let x0 = Int(fx), y0 = Int(fy), x1 = Swift.min(x0 + 1, n - 1), y1 = Swift.min(y0 + 1, n - 1)
            let ax = fx - Double(x0), ay = fy - Double(y0)
            weights[y0 * n + x0] += (1 - ax) * (1 - ay)
            weights[y0 * n + x1] += ax * (1 - ay)
            weights[y1 * n + x0] += (1 - ax) * ay
            weights[y1 * n + x1] += ax * ay
        }
        let sum = weights.reduce(0, +)
        return weights.map { Float($0 / sum) }
    }

    public func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor {
        let k = kernel(using: &generator)
        return ImageFilter.correlate(ImagePlanes(image), kernel: k, kh: kernelSize, kw: kernelSize).tensor(dtype: image.dtype)
    }
}
