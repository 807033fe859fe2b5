import Foundation
import SLKDTensor

/// Pairs made from clean images and a synthetic ``Degradation``.
///
/// The degraded image of pair `i` in epoch `e` is drawn from a generator seeded by
/// `(seed, i, e)` alone, so it is the same on every call, thread and machine, and a new draw each
/// epoch (fresh noise, a new blur kernel) — the usual on-the-fly synthesis of denoising training.
public struct SyntheticPairedDataset: PairedDataset {
    /// The clean images (`C×H×W` float32 in [0, 1]) and their names.
    public let images: [(name: String, pixels: Tensor)]
    /// The degradation applied to each clean image.
    public let degradation: any Degradation
    /// The seed of every degradation draw.
    public let seed: UInt64
    /// Whether the degradation is drawn once per image (`false`: the same degraded image every
    /// epoch, as a fixed synthetic test set) or afresh each epoch (`true`).
    public let redrawsEachEpoch: Bool
    /// When set, a clean image larger than this is first cut to a random `window × window` region
    /// (drawn from the same per-(seed, image, epoch) generator, before the degradation's draws),
    /// and only that region is degraded: on-the-fly synthesis for patch training then costs the
    /// window, not the whole image. Choose it somewhat larger than the training patch so that blur
    /// kernels see real pixels around the patch. Leave `nil` to degrade whole images (evaluation).
    public var window: Int?

    /// Pairs from clean images held in memory.
    public init(cleanImages: [(name: String, pixels: Tensor)], degradation: any Degradation, seed: UInt64,
                redrawsEachEpoch: Bool = true) {
        for image in cleanImages {
            precondition(image.pixels.rank == 3, "clean image '\(image.name)' must be C×H×W, got \(image.pixels.shape)")
        }
        self.images = cleanImages.map { ($0.name, $0.pixels.dtype == .float32 ? $0.pixels : $0.pixels.cast(to: .float32)) }
        self.degradation = degradation
        self.seed = seed
        self.redrawsEachEpoch = redrawsEachEpoch
    }

    /// Pairs from clean PNG files (read once, now), named by file name.
    public init(cleanURLs: [URL], degradation: any Degradation, seed: UInt64, channels: ImageIO.Channels = .rgb,
                redrawsEachEpoch: Bool = true) throws(DatasetError) {
        var loaded: [(name: String, pixels: Tensor)] = []
        for url in cleanURLs {
            loaded.append((url.lastPathComponent, try FolderPairedDataset.read(url, channels: channels)))
        }
        self.init(cleanImages: loaded, degradation: degradation, seed: seed, redrawsEachEpoch: redrawsEachEpoch)
    }

    /// The bundled sample images (``SampleImages``) as clean images.
    public static func sampleImages(degradation: any Degradation, seed: UInt64) throws(DatasetError) -> SyntheticPairedDataset {
        try SyntheticPairedDataset(cleanURLs: SampleImages.urls, degradation: degradation, seed: seed)
    }

    public var count: Int { images.count }

    public func name(at index: Int) -> String { images[index].name }

    public func pair(at index: Int, epoch: Int) throws(DatasetError) -> ImagePair {
        precondition(images.indices.contains(index), "pair index \(index) out of range 0..<\(count)")
        var generator = RandomGenerator.derived(from: seed, UInt64(index), UInt64(redrawsEachEpoch ? epoch : 0))
        var clean = images[index].pixels
        if let window {
            precondition(window > 0, "window must be positive, got \(window)")
            let (h, w) = (clean.shape[1], clean.shape[2])
            let top = h > window ? generator.uniformInt(below: h - window + 1) : 0
            let left = w > window ? generator.uniformInt(below: w - window + 1) : 0
            clean = clean.narrowed(axis: 1, start: top, length: Swift.min(h, window))
                .narrowed(axis: 2, start: left, length: Swift.min(w, window)).contiguous()
        }
        return ImagePair(name: images[index].name, degraded: degradation.apply(to: clean, using: &generator), clean: clean)
    }
}

extension RandomGenerator {
    /// A generator whose sequence depends only on `seed` and `components` (SplitMix64 finaliser
    /// over each in turn): independent streams for each (image, epoch) without shared state.
    package static func derived(from seed: UInt64, _ components: UInt64...) -> RandomGenerator {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var h = mix(seed)
        for c in components { h = mix(h ^ mix(c)) }
        return RandomGenerator(seed: h)
    }
}
