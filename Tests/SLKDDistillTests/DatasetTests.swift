import Foundation
import Testing
import SLKDDistill

// MARK: - Fixtures (written at run time into a temporary folder; nothing committed)

/// A fresh temporary folder, removed when the value is released.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// `relative` under the folder, its parent folders created.
    func file(_ relative: String) throws -> URL {
        let file = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        return file
    }

    func writePNG(_ image: Tensor, _ relative: String) throws { try image.writePNG(to: file(relative)) }

    /// Writes `image` as JPEG (quality 95) or PNG, as the name's extension says.
    func writeImage(_ image: Tensor, _ relative: String) throws { try image.writeImage(to: file(relative)) }
}

/// An 8-bit RGB image whose pixels say where they are: R = y, G = x, B = (7y + 3x + seed) mod 256,
/// all /255, so every pixel of an image up to 255×255 is distinct and exact after a PNG round trip.
func coordinateImage(height: Int, width: Int, seed: Int = 0) -> Tensor {
    var values = [Float](repeating: 0, count: 3 * height * width)
    for y in 0..<height {
        for x in 0..<width {
            let i = y * width + x
            values[i] = Float(y) / 255
            values[height * width + i] = Float(x) / 255
            values[2 * height * width + i] = Float((7 * y + 3 * x + seed) % 256) / 255
        }
    }
    return Tensor(shape: [3, height, width], scalars: values)
}

/// The negative of an 8-bit image, (255 − v)/255, exact in 8 bits.
func negative(_ image: Tensor) -> Tensor {
    Tensor(shape: image.shape, scalars: image.floats.map { Float(255 - Int(($0 * 255).rounded())) / 255 })
}

/// Pixel values as 0–255 integers.
func bytes(_ image: Tensor) -> [Int] { image.floats.map { Int(($0 * 255).rounded()) } }

/// Writes `names` as pairs (clean = coordinate image, degraded = its negative) into a layout.
func writePairs(_ folder: TemporaryFolder, degraded: String, clean: String, names: [String],
                height: Int = 12, width: Int = 14) throws {
    for (k, name) in names.enumerated() {
        let image = coordinateImage(height: height, width: width, seed: k)
        try folder.writePNG(negative(image), degraded.isEmpty ? name : "\(degraded)/\(name)")
        try folder.writePNG(image, clean.isEmpty ? name : "\(clean)/\(name)")
    }
}

/// Runs `body` and returns its `DatasetError`'s reason (failing the test when it does not throw).
func datasetErrorReason(_ body: () throws(DatasetError) -> Void) -> DatasetError.Reason? {
    do {
        try body()
        Issue.record("expected a DatasetError")
        return nil
    } catch {
        return error.reason
    }
}

// MARK: - Folder datasets

@Suite("Paired folder datasets")
struct DatasetFolderTests {
    static let presets: [(String, PairedFolderLayout, String, String)] = [
        ("rain13K", .rain13K, "input", "target"), ("rain100H", .rain100H, "input", "target"),
        ("test1200", .test1200, "input", "target"), ("goProPrepared", .goProPrepared, "input", "target"),
        ("hidePrepared", .hidePrepared, "input", "target"), ("sidd", .sidd, "input", "target"),
    ]

    @Test("every input/target preset resolves its folders and pairs files by name", arguments: 0..<6)
    func presetsResolve(_ k: Int) throws {
        let (_, layout, degradedName, cleanName) = Self.presets[k]
        let folder = try TemporaryFolder()
        try writePairs(folder, degraded: degradedName, clean: cleanName, names: ["b.png", "a.png", "c.png"])
        // A stray non-PNG file and a hidden file are ignored.
        try Data("notes".utf8).write(to: folder.file("\(cleanName)/readme.txt"))
        try Data("junk".utf8).write(to: folder.file("\(degradedName)/.DS_Store"))

        let dataset = try FolderPairedDataset(root: folder.url, layout: layout)
        #expect(dataset.count == 3)
        #expect((0..<3).map(dataset.name(at:)) == ["a.png", "b.png", "c.png"])
        // "a.png" was written second (seed 1): the pair holds that image and its negative.
        let pair = try dataset.pair(at: 0)
        #expect(pair.clean.shape == [3, 12, 14])
        #expect(bytes(pair.clean) == bytes(coordinateImage(height: 12, width: 14, seed: 1)))
        #expect(bytes(pair.degraded) == bytes(pair.clean).map { 255 - $0 })
    }

    @Test("SIDD Medium naming: *_NOISY_* and *_GT_* side by side in scene folders")
    func siddMediumTokens() throws {
        let folder = try TemporaryFolder()
        for scene in ["0001_001_S6", "0002_001_S6"] {
            for shot in ["010", "011"] {
                let image = coordinateImage(height: 8, width: 9, seed: shot == "010" ? 1 : 2)
                try folder.writePNG(image, "\(scene)/\(scene.prefix(4))_GT_SRGB_\(shot).PNG")
                try folder.writePNG(negative(image), "\(scene)/\(scene.prefix(4))_NOISY_SRGB_\(shot).PNG")
            }
        }
        let dataset = try FolderPairedDataset(root: folder.url, layout: .siddMedium)
        #expect(dataset.count == 4)
        #expect(dataset.name(at: 0) == "0001_001_S6/0001_NOISY_SRGB_010.PNG")
        #expect(dataset.entries[3].cleanURL.lastPathComponent == "0002_GT_SRGB_011.PNG")
        let pair = try dataset.pair(at: 1)
        #expect(bytes(pair.degraded) == bytes(pair.clean).map { 255 - $0 })
    }

    @Test("token matching across two folders: original Rain100 names rain-001 ↔ norain-001")
    func rain100OriginalNames() throws {
        let folder = try TemporaryFolder()
        for k in 1...3 {
            let image = coordinateImage(height: 6, width: 7, seed: k)
            try folder.writePNG(negative(image), "rainy/rain-00\(k).png")
            try folder.writePNG(image, "clean/norain-00\(k).png")
        }
        try folder.writePNG(coordinateImage(height: 6, width: 7), "clean/norain-004.png")
        let layout = PairedFolderLayout(degradedFolder: "rainy", cleanFolder: "clean",
                                        matching: .nameToken(degraded: "rain-", clean: "norain-"))
        let reason = datasetErrorReason { () throws(DatasetError) in _ = try FolderPairedDataset(root: folder.url, layout: layout) }
        #expect(reason == .unmatchedFiles(degradedOnly: [], cleanOnly: ["norain-004.png"]))
        try FileManager.default.removeItem(at: folder.url.appendingPathComponent("clean/norain-004.png"))
        let dataset = try FolderPairedDataset(root: folder.url, layout: layout)
        #expect(dataset.entries.map(\.cleanURL.lastPathComponent) == ["norain-001.png", "norain-002.png", "norain-003.png"])
        let pair = try dataset.pair(at: 2)
        #expect(bytes(pair.clean) == bytes(coordinateImage(height: 6, width: 7, seed: 3)))
        #expect(bytes(pair.degraded) == bytes(pair.clean).map { 255 - $0 })
    }

    @Test("files without a partner are all reported by name")
    func unmatchedFilesListed() throws {
        let folder = try TemporaryFolder()
        try writePairs(folder, degraded: "input", clean: "target", names: ["a.png", "b.png"])
        try folder.writePNG(coordinateImage(height: 4, width: 4), "input/only-rainy.png")
        try folder.writePNG(coordinateImage(height: 4, width: 4), "input/also-rainy.png")
        try folder.writePNG(coordinateImage(height: 4, width: 4), "target/only-clean.png")
        let reason = datasetErrorReason { () throws(DatasetError) in _ = try FolderPairedDataset(root: folder.url, layout: .rain13K) }
        #expect(reason == .unmatchedFiles(degradedOnly: ["also-rainy.png", "only-rainy.png"], cleanOnly: ["only-clean.png"]))
        let message = DatasetError(reason!).description
        #expect(message.contains("'only-rainy.png'") && message.contains("'only-clean.png'"))
    }

    @Test("a missing or image-less folder is named in the error")
    func missingAndEmptyFolders() throws {
        let folder = try TemporaryFolder()
        try writePairs(folder, degraded: "blur", clean: "sharp", names: ["x.png"])
        let missing = datasetErrorReason { () throws(DatasetError) in _ = try FolderPairedDataset(root: folder.url, layout: .rain13K) }
        #expect(missing == .missingFolder(path: folder.url.appendingPathComponent("input").path))

        try FileManager.default.createDirectory(at: folder.url.appendingPathComponent("input"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: folder.file("input/readme.txt"))
        try writePairs(folder, degraded: "", clean: "target", names: ["x.png"])
        let empty = datasetErrorReason { () throws(DatasetError) in _ = try FolderPairedDataset(root: folder.url, layout: .sidd) }
        #expect(empty == .emptyFolder(path: folder.url.appendingPathComponent("input").path))
    }

    @Test("a pair of different sizes and an unreadable PNG are reported by name")
    func sizeMismatchAndCorruptFile() throws {
        let folder = try TemporaryFolder()
        try writePairs(folder, degraded: "input", clean: "target", names: ["a.png", "b.png", "c.png"])
        try folder.writePNG(coordinateImage(height: 12, width: 10), "input/b.png")
        try Data("not a png at all".utf8).write(to: folder.file("target/c.png"))
        let dataset = try FolderPairedDataset(root: folder.url, layout: .rain100)

        _ = try dataset.pair(at: 0)
        let size = datasetErrorReason { () throws(DatasetError) in _ = try dataset.pair(at: 1) }
        #expect(size == .sizeMismatch(name: "b.png", degraded: [3, 12, 10], clean: [3, 12, 14]))
        #expect(datasetErrorReason { () throws(DatasetError) in try dataset.validate() } == size)

        let corrupt = datasetErrorReason { () throws(DatasetError) in _ = try dataset.pair(at: 2) }
        guard case .unreadableImage(let path, let message)? = corrupt else {
            Issue.record("expected unreadableImage, got \(String(describing: corrupt))")
            return
        }
        #expect(path == folder.url.appendingPathComponent("target/c.png").path)
        #expect(!message.isEmpty)
    }
}

// MARK: - Synthetic pairs

@Suite("Synthetic paired dataset")
struct DatasetSyntheticTests {
    static func images() -> [(name: String, pixels: Tensor)] {
        (0..<3).map { ("img\($0)", coordinateImage(height: 16, width: 16, seed: $0)) }
    }

    @Test("the degraded image depends only on (seed, image, epoch)")
    func deterministicPerSeedImageEpoch() throws {
        let noise = GaussianNoise(sigma: 20...20)
        let a = SyntheticPairedDataset(cleanImages: Self.images(), degradation: noise, seed: 9)
        let b = SyntheticPairedDataset(cleanImages: Self.images(), degradation: noise, seed: 9)
        let other = SyntheticPairedDataset(cleanImages: Self.images(), degradation: noise, seed: 10)
        // Same arguments, other instance and other call order: same pixels.
        let late = try b.pair(at: 2, epoch: 4).degraded.floats
        _ = try a.pair(at: 0, epoch: 0)
        #expect(try a.pair(at: 2, epoch: 4).degraded.floats == late)
        // The contract spelled out: the degradation drawn from a generator of (seed, index, epoch).
        var generator = RandomGenerator.derived(from: 9, 2, 4)
        #expect(noise.apply(to: Self.images()[2].pixels, using: &generator).floats == late)
        // Another epoch, image or seed: another draw. The clean side never changes.
        #expect(try a.pair(at: 2, epoch: 5).degraded.floats != late)
        #expect(try other.pair(at: 2, epoch: 4).degraded.floats != late)
        #expect(try a.pair(at: 2, epoch: 5).clean.floats == Self.images()[2].pixels.floats)

        let fixed = SyntheticPairedDataset(cleanImages: Self.images(), degradation: noise, seed: 9, redrawsEachEpoch: false)
        #expect(try fixed.pair(at: 1, epoch: 0).degraded.floats == fixed.pair(at: 1, epoch: 7).degraded.floats)
    }

    @Test("a window cuts a random region of the clean image before degrading it")
    func windowBeforeDegrading() throws {
        let big = [("big", coordinateImage(height: 40, width: 50))]
        var dataset = SyntheticPairedDataset(cleanImages: big, degradation: GaussianNoise(sigma: 10...10), seed: 4)
        dataset.window = 16
        var corners = Set<[Int]>()
        for epoch in 0..<6 {
            let pair = try dataset.pair(at: 0, epoch: epoch)
            #expect(pair.clean.shape == [3, 16, 16] && pair.degraded.shape == [3, 16, 16])
            // The coordinate image says where the window starts: R = row, G = column.
            let v = bytes(pair.clean), top = v[0], left = v[256]
            #expect(top + 16 <= 40 && left + 16 <= 50)
            #expect(v == bytes(coordinateImage(height: 40, width: 50).narrowed(axis: 1, start: top, length: 16)
                .narrowed(axis: 2, start: left, length: 16)))
            #expect(try dataset.pair(at: 0, epoch: epoch).degraded.floats == pair.degraded.floats)
            corners.insert([top, left])
        }
        #expect(corners.count > 1, "each epoch draws a new window")
    }

    @Test("the bundled sample images load as clean images")
    func sampleImages() throws {
        let dataset = try SyntheticPairedDataset.sampleImages(degradation: GaussianBlur(sigma: 1...2), seed: 1)
        #expect(dataset.count == 10)
        #expect(dataset.name(at: 0) == "astronaut.png")
        let pair = try dataset.pair(at: 3, epoch: 0)
        #expect(pair.clean.shape[0] == 3 && pair.degraded.shape == pair.clean.shape)
    }
}
