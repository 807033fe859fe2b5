import Foundation
import Testing
import SLKDDistill

private struct Planes: Decodable { var shape: [Int]; var data: [Double] }
private struct Vectors: Decodable {
    var image: Planes, kernel: Planes
    var gaussian_sigma1: Planes, correlate_reflect: Planes
}

private func loadVectors() throws -> Vectors {
    let url = try #require(Bundle.module.url(forResource: "degradations", withExtension: "json", subdirectory: "Vectors"))
    return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
}

@Suite("Synthetic degradations")
struct DegradationTests {
    @Test("Gaussian blur equals scipy.ndimage.gaussian_filter (reflect)")
    func gaussianBlurMatchesSciPy() throws {
        let v = try loadVectors()
        let image = Tensor(shape: v.image.shape, scalars: v.image.data.map(Float.init))
        var rng = RandomGenerator(seed: 1)
        let blurred = GaussianBlur(sigma: 1...1).apply(to: image, using: &rng)
        let got = blurred.doubles
        for (i, expected) in v.gaussian_sigma1.data.enumerated() {
            #expect(Swift.abs(got[i] - expected) < 2e-6, "pixel \(i): \(got[i]) vs \(expected)")
        }
    }

    @Test("correlation with reflect padding equals scipy.ndimage.correlate")
    func correlationMatchesSciPy() throws {
        let v = try loadVectors()
        let planes = ImagePlanes(channels: 3, height: 12, width: 14, values: v.image.data.map(Float.init))
        let out = ImageFilter.correlate(planes, kernel: v.kernel.data.map(Float.init), kh: 5, kw: 7)
        for (i, expected) in v.correlate_reflect.data.enumerated() {
            #expect(Swift.abs(Double(out.values[i]) - expected) < 2e-6)
        }
    }

    @Test("Gaussian noise has the requested standard deviation")
    func gaussianNoiseStatistics() {
        let clean = Tensor(repeating: 0.5, shape: [3, 128, 128])
        var rng = RandomGenerator(seed: 3)
        let noisy = GaussianNoise(sigma: 25...25).apply(to: clean, using: &rng)
        let residual = (noisy - clean).doubles
        let mean = residual.reduce(0, +) / Double(residual.count)
        let std = (residual.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(residual.count)).squareRoot()
        // 49,152 samples: the standard error of σ̂ is about 0.3 %.
        #expect(Swift.abs(std - 25.0 / 255) < 0.015 * 25 / 255)
        #expect(Swift.abs(mean) < 0.002)
    }

    @Test("Poisson draws have mean and variance λ")
    func poissonMoments() {
        var rng = RandomGenerator(seed: 4)
        for lambda in [0.7, 4.0, 55.0] {
            let draws = (0..<40_000).map { _ in PoissonGaussianNoise.poisson(lambda, using: &rng) }
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count - 1)
            #expect(Swift.abs(mean - lambda) < 0.03 * lambda + 0.02)
            #expect(Swift.abs(variance - lambda) < 0.06 * lambda + 0.03)
        }
    }

    @Test("JPEG quantisation tables follow the IJG scaling")
    func ijgTables() {
        #expect(JPEGBlocking.scaledTable(JPEGBlocking.luminance, quality: 50) == JPEGBlocking.luminance)
        #expect(JPEGBlocking.scaledTable(JPEGBlocking.luminance, quality: 100).allSatisfy { $0 == 1 })
        // Quality 75 halves the table (scale 50): 16 → 8, 11 → 6 (rounded half up), 99 → 50.
        let q75 = JPEGBlocking.scaledTable(JPEGBlocking.luminance, quality: 75)
        #expect(q75[0] == 8 && q75[1] == 6 && q75[63] == 50)
        // Quality 10 (scale 500): 17 → 85, 99 → 255 (clamped).
        let q10 = JPEGBlocking.scaledTable(JPEGBlocking.chrominance, quality: 10)
        #expect(q10[0] == 85 && q10[63] == 255)
    }

    @Test("the DCT basis is orthonormal")
    func dctIsOrthonormal() {
        let d = JPEGBlocking.dct
        for i in 0..<8 {
            for j in 0..<8 {
                let dot = (0..<8).reduce(0.0) { $0 + d[i * 8 + $1] * d[j * 8 + $1] }
                #expect(Swift.abs(dot - (i == j ? 1 : 0)) < 1e-12)
            }
        }
    }

    @Test("JPEG at quality 100 nearly preserves the image, at quality 10 it does not")
    func jpegQualityOrdering() {
        var rng = RandomGenerator(seed: 5)
        let clean = Tensor.uniform([3, 20, 27], using: &rng)
        let high = JPEGBlocking(quality: 100...100).apply(to: clean, using: &rng)
        let low = JPEGBlocking(quality: 10...10).apply(to: clean, using: &rng)
        let errorHigh = (high - clean).abs().max().item
        let errorLow = (low - clean).abs().mean().item
        // Quantisation step 1 on 0–255: each coefficient moves ≤ 0.5, each pixel ≤ 4·0.5/255 after the 2-D IDCT and colour round trip.
        #expect(errorHigh < 4.0 / 255)
        #expect(errorLow > 10 * (high - clean).abs().mean().item)
    }

    @Test("a vertical rain streak kernel is a Gaussian ridge across the line")
    func streakKernelShape() {
        let (k, side) = RainStreaks.streakKernel(length: 10, degrees: 0)
        let c = side / 2
        #expect(k[c * side + c] == 1)
        #expect(Swift.abs(Double(k[c * side + c + 1]) - Foundation.exp(-1 / 0.72)) < 1e-6)
        #expect(k[0] == 0)  // beyond the streak's half-length
    }

    @Test("rain only brightens; motion kernels are normalised")
    func rainAndMotion() {
        var rng = RandomGenerator(seed: 6)
        let clean = Tensor.uniform([3, 32, 32], low: 0, high: 0.5, using: &rng)
        let rainy = RainStreaks().apply(to: clean, using: &rng)
        #expect((rainy - clean).min().item >= 0)
        #expect((rainy - clean).max().item > 0.1)
        let k = MotionBlur().kernel(using: &rng)
        #expect(Swift.abs(k.reduce(0, +) - 1) < 1e-5 && k.allSatisfy { $0 >= 0 })
    }

    @Test("every degradation is reproducible from its seed")
    func deterministic() {
        var base = RandomGenerator(seed: 9)
        let clean = Tensor.uniform([3, 24, 24], using: &base)
        let pipelines: [any Degradation] = [
            GaussianNoise(sigma: 10...50), PoissonGaussianNoise(peak: 20...200, readSigma: 1...5),
            GaussianBlur(sigma: 0.5...2), MotionBlur(), RainStreaks(), JPEGBlocking(quality: 10...60),
            DegradationPipeline([RainStreaks(), GaussianNoise(sigma: 5...5)]),
        ]
        for d in pipelines {
            var r1 = RandomGenerator(seed: 42), r2 = RandomGenerator(seed: 42), r3 = RandomGenerator(seed: 43)
            let a = d.apply(to: clean, using: &r1).floats, b = d.apply(to: clean, using: &r2).floats
            let c = d.apply(to: clean, using: &r3).floats
            #expect(a == b, "\(type(of: d)) is not deterministic")
            #expect(a != c || d is JPEGBlocking, "\(type(of: d)) ignores its seed")
        }
    }
}

@Test("the ten sample images ship with their licence file")
func sampleImagesAreBundled() throws {
    let names = SampleImages.urls.map(\.lastPathComponent)
    #expect(names == ["astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
                      "grass.png", "gravel.png", "hubble.png", "rocket.png"])
    let licences = try String(contentsOf: SampleImages.folder.appendingPathComponent("LICENSES.md"), encoding: .utf8)
    #expect(licences.contains("public domain") && licences.contains("CC0"))
}
