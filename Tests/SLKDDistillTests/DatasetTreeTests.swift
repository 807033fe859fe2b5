import Foundation
import Testing
import SLKDDistill

/// The official directory trees, replicated in miniature by each test: folder names, file names
/// and extensions as the releases have them, and a stray file of each kind the releases carry.
@Suite("Paired folder datasets: official trees")
struct DatasetTreeTests {
    /// Mean absolute difference in 8-bit levels: JPEG pairs are compared through their loss.
    static func levels(_ a: Tensor, _ b: Tensor) -> Double {
        zip(bytes(a), bytes(b)).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(a.count)
    }

    /// Rain13K as downloaded: JPEG files `input/N.jpg` ↔ `target/N.jpg`, sorted by name.
    @Test func rain13KJPEGs() throws {
        let folder = try TemporaryFolder()
        for k in 1...3 {
            let clean = coordinateImage(height: 16, width: 16, seed: 40 * k)
            try folder.writeImage(clean, "input/\(k).jpg")  // a "rainy" image that is the clean one
            try folder.writeImage(clean, "target/\(k).jpg")
        }
        let dataset = try FolderPairedDataset(root: folder.url, layout: .rain13K)
        #expect((0..<3).map(dataset.name(at:)) == ["1.jpg", "2.jpg", "3.jpg"])
        for k in 0..<3 {
            let pair = try dataset.pair(at: k)
            #expect(pair.clean.shape == [3, 16, 16])
            // The pair is this file's image (JPEG loss is a few levels), not another seed's.
            let own = coordinateImage(height: 16, width: 16, seed: 40 * (k + 1))
            let other = coordinateImage(height: 16, width: 16, seed: 40 * ((k + 1) % 3 + 1))
            let (ownError, otherError) = (Self.levels(pair.clean, own), Self.levels(pair.clean, other))
            #expect(ownError < 4 && otherError > 4 * ownError, "\(ownError) vs \(otherError) levels")
        }
    }

    /// Test2800's names (`<scene>_<rain level>.jpg`), and a PNG target paired with a JPEG input
    /// by name without extension; a name present twice with two extensions is refused.
    @Test func test2800NamesAndMixedExtensions() throws {
        let folder = try TemporaryFolder()
        for name in ["901_1", "901_2", "926_10"] {
            try folder.writeImage(coordinateImage(height: 8, width: 8), "input/\(name).jpg")
            try folder.writeImage(coordinateImage(height: 8, width: 8), "target/\(name).png")
        }
        let dataset = try FolderPairedDataset(root: folder.url, layout: .test2800)
        #expect(dataset.entries.map(\.cleanURL.lastPathComponent) == ["901_1.png", "901_2.png", "926_10.png"])
        try folder.writeImage(coordinateImage(height: 8, width: 8), "input/901_1.png")
        let reason = datasetErrorReason { () throws(DatasetError) in _ = try FolderPairedDataset(root: folder.url, layout: .test2800) }
        #expect(reason == .ambiguousNames(["901_1.jpg", "901_1.png"]))
    }

    /// GOPRO_Large/test as released: `<sequence>/blur/NNNNNN.png` ↔ `<sequence>/sharp/…`, with
    /// `blur_gamma/` beside them left out.
    @Test func goProRelease() throws {
        let folder = try TemporaryFolder()
        for (s, sequence) in ["GOPR0384_11_00", "GOPR0410_11_00"].enumerated() {
            for frame in ["000001", "000002"] {
                let image = coordinateImage(height: 6, width: 10, seed: 10 * s + Int(frame)!)
                try folder.writePNG(image, "\(sequence)/sharp/\(frame).png")
                try folder.writePNG(negative(image), "\(sequence)/blur/\(frame).png")
                try folder.writePNG(coordinateImage(height: 6, width: 10), "\(sequence)/blur_gamma/\(frame).png")
            }
        }
        let dataset = try FolderPairedDataset(root: folder.url, layout: .goPro)
        #expect(dataset.count == 4)
        #expect(dataset.name(at: 3) == "GOPR0410_11_00/blur/000002.png")
        #expect(dataset.entries[3].cleanURL.path.hasSuffix("GOPR0410_11_00/sharp/000002.png"))
        for k in 0..<4 {
            let pair = try dataset.pair(at: k)
            #expect(bytes(pair.degraded) == bytes(pair.clean).map { 255 - $0 })
        }
    }

    /// HIDE_dataset as released: `test/test-close-ups/…` and `test/test-long-shot/…` ↔ `GT/…`
    /// by file name (`train/` and the text lists beside them are not read).
    @Test func hideRelease() throws {
        let folder = try TemporaryFolder()
        let files = [("test-close-ups", "10ff0a0bc4ec11e7b8d2f40f2434e0fd.png"), ("test-long-shot", "15fromGOPR0950.png")]
        for (k, (subset, name)) in files.enumerated() {
            let image = coordinateImage(height: 5, width: 9, seed: k)
            try folder.writePNG(negative(image), "test/\(subset)/\(name)")
            try folder.writePNG(image, "GT/\(name)")
        }
        try folder.writePNG(coordinateImage(height: 5, width: 9), "train/1fromGOPR0950.png")
        try Data("10ff0a0bc4ec11e7b8d2f40f2434e0fd.png\n".utf8).write(to: folder.file("test.txt"))
        let dataset = try FolderPairedDataset(root: folder.url, layout: .hide)
        #expect(dataset.count == 2)
        #expect(dataset.entries.map(\.cleanURL.lastPathComponent) == files.map(\.1))
        let pair = try dataset.pair(at: 1)
        #expect(bytes(pair.degraded) == bytes(pair.clean).map { 255 - $0 })
    }

    /// Every preset the tool offers has a distinct name.
    @Test func presetNamesAreDistinct() {
        let names = PairedFolderLayout.presets.map(\.name)
        #expect(Set(names).count == names.count && names.count == 13)
    }
}
