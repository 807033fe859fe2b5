import SLKDTensor

/// Additive white Gaussian noise, σ on the 0–255 scale (σ = 15, 25, 50 are the usual settings).
public struct GaussianNoise: Degradation {
    /// The range σ is drawn from, per image, on the 0–255 scale.
    public var sigma: ClosedRange<Double>

    public init(sigma: ClosedRange<Double>) { self.sigma = sigma }

    public func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor {
        var planes = ImagePlanes(image)
        let s = generator.draw(sigma) / 255
        for i in planes.values.indices { planes.values[i] += Float(s * generator.nextNormal()) }
        return planes.tensor(dtype: image.dtype)
    }
}

/// Signal-dependent sensor noise: Poisson shot noise with `peak` photons at intensity 1, plus
/// Gaussian read noise σ (0–255 scale). The Poisson draw uses the normal approximation above
/// 30 expected photons and exact inversion below.
public struct PoissonGaussianNoise: Degradation {
    public var peak: ClosedRange<Double>
    public var readSigma: ClosedRange<Double>

    public init(peak: ClosedRange<Double>, readSigma: ClosedRange<Double>) {
        precondition(peak.lowerBound > 0, "peak photon count must be positive")
        self.peak = peak
        self.readSigma = readSigma
    }

    public func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor {
        var planes = ImagePlanes(image)
        let photons = generator.draw(peak)
        let read = generator.draw(readSigma) / 255
        for i in planes.values.indices {
            let lambda = Double(Swift.max(planes.values[i], 0)) * photons
            let count = Self.poisson(lambda, using: &generator)
            planes.values[i] = Float(count / photons + read * generator.nextNormal())
        }
        return planes.tensor(dtype: image.dtype)
    }

    package static func poisson(_ lambda: Double, using generator: inout RandomGenerator) -> Double {
        if lambda > 30 { return Swift.max(0, (lambda + lambda.squareRoot() * generator.nextNormal()).rounded()) }
        // Inversion by sequential search (Knuth); exact for small means.
        let limit = Double.exp(-lambda)
        var k = 0.0, p = generator.nextUnit()
        while p > limit {
            k += 1
            p *= generator.nextUnit()
        }
        return k
    }
}
