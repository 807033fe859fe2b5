import Foundation
import Testing
import SLKDTensor

/// JPEG through libjpeg-turbo against Pillow's decoding of the same files
/// (Vectors/jpeg, written by Scripts/reference/jpeg_fixtures.py), and PNG/JPEG told apart by
/// content.
@Suite("JPEG and image files of either format")
struct JPEGTests {
    static let directory: URL = Bundle.module.url(forResource: "jpeg", withExtension: nil, subdirectory: "Vectors")!

    struct Expected: Decodable {
        struct Image: Decodable { var channels: Int; var shape: [Int]; var values: [Int] }
        var valid: [String: Image]
        var refused: [String: String]
    }

    static let expected: Expected = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    @Test func fixturesArePresent() {
        #expect(Self.expected.valid.count == 5)
        #expect(Self.expected.refused.count == 2)
    }

    /// libjpeg's default decoder settings give Pillow's samples: the issue allows one grey
    /// level; libjpeg-turbo 2.1 here and Pillow's 3.x agree exactly on these files.
    @Test("decodes as Pillow does", arguments: ["rgb420.jpg", "rgb444.jpg", "progressive.jpg", "odd13x7.jpg", "gray.jpg"])
    func decodesAsPillow(name: String) throws {
        let want = try #require(Self.expected.valid[name])
        let image = try ImageIO.readImage(at: Self.directory.appendingPathComponent(name), channels: .stored, dtype: .float64)
        #expect(image.format == .jpeg)
        #expect(image.storedChannels == want.channels)
        #expect(image.pixels.shape == want.shape)
        let got = image.pixels.doubles.map { Int(($0 * 255).rounded()) }
        try #require(got.count == want.values.count)
        let worst = zip(got, want.values).map { abs($0 - $1) }.max() ?? 0
        #expect(worst == 0, "\(name): samples differ from Pillow's by up to \(worst)")
    }

    @Test func grayJPEGBecomesRGBOnRequestAndColourBecomesLuma() throws {
        let gray = try Tensor.readImage(at: Self.directory.appendingPathComponent("gray.jpg"), channels: .rgb, dtype: .float64)
        let want = try #require(Self.expected.valid["gray.jpg"]).values.map { Double($0) / 255 }
        #expect(gray.shape == [3, 12, 20])
        #expect(gray.doubles == want + want + want)
        let colour = try #require(Self.expected.valid["rgb444.jpg"])
        let luma = try Tensor.readImage(at: Self.directory.appendingPathComponent("rgb444.jpg"), channels: .gray, dtype: .float64)
        let n = 24 * 16
        for i in [0, 17, n - 1] {
            let (r, g, b) = (Double(colour.values[i]), Double(colour.values[n + i]), Double(colour.values[2 * n + i]))
            #expect(abs(luma.doubles[i] - (0.299 * r + 0.587 * g + 0.114 * b) / 255) < 1e-12)
        }
        let withAlpha = try Tensor.readImage(at: Self.directory.appendingPathComponent("rgb444.jpg"), channels: .rgba)
        #expect(withAlpha.shape == [4, 16, 24])
        #expect(withAlpha.floats.suffix(n).allSatisfy { $0 == 1 })
    }

    @Test func cmykAndTruncatedFilesAreTypedErrorsNamingTheFile() {
        for (name, why) in [("cmyk.jpg", "CMYK"), ("truncated.jpg", "JPEG")] {
            let url = Self.directory.appendingPathComponent(name)
            do {
                _ = try Tensor.readImage(at: url)
                Issue.record("\(name) decoded")
            } catch {
                guard case .invalidJPEG(let message) = error.reason else {
                    Issue.record("\(name): \(error)"); continue
                }
                #expect(message.contains(why))
                #expect(error.description.contains(name) && error.description.contains("not a valid JPEG"))
            }
        }
    }

    /// The format comes from the bytes: a JPEG named .png and a PNG named .jpg both decode.
    @Test func formatIsChosenByContentNotName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-jpeg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let jpegNamedPNG = folder.appendingPathComponent("photo.png")
        try FileManager.default.copyItem(at: Self.directory.appendingPathComponent("rgb420.jpg"), to: jpegNamedPNG)
        #expect(try ImageIO.readImage(at: jpegNamedPNG).format == .jpeg)
        let pngNamedJPEG = folder.appendingPathComponent("plot.jpg")
        let image = Tensor(shape: [1, 2, 2], scalars: [0, 1, 0.5, 0.25] as [Float])
        try ImageIO.encodePNG(image).write(to: pngNamedJPEG)
        let decoded = try ImageIO.readImage(at: pngNamedJPEG)
        #expect(decoded.format == .png)
        #expect(decoded.pixels.floats == [0, 1, Float(128) / 255, Float(64) / 255])

        let text = folder.appendingPathComponent("notes.png")
        try Data("not an image".utf8).write(to: text)
        #expect(throws: ImageIOError(.unknownFormat("it starts with 6E 6F 74 20 61 6E 20 69"), path: text.path)) {
            try Tensor.readImage(at: text)
        }
        #expect(throws: ImageIOError(.unreadable("is a folder, not a file"), path: folder.path)) {
            try Tensor.readImage(at: folder)
        }
        let missing = folder.appendingPathComponent("missing.jpg")
        #expect(throws: ImageIOError(.unreadable("does not exist"), path: missing.path)) { try Tensor.readImage(at: missing) }
    }

    /// Writing picks JPEG for .jpg/.jpeg names; what is read back is within JPEG's loss of the
    /// quantised input (quality 100, 4:4:4 chroma: a few levels), and a greyscale tensor stays one channel.
    @Test func writesJPEGByNameAndReadsItBack() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-jpeg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = try Tensor.readImage(at: Self.directory.appendingPathComponent("rgb444.jpg"), dtype: .float64)
        let url = folder.appendingPathComponent("out.JPEG")
        try original.writeImage(to: url, jpegQuality: 100)
        #expect(ImageIO.ImageFormat(sniffing: try Data(contentsOf: url)) == .jpeg)
        try ImageIO.encodeJPEG(original, quality: 100, fullChroma: true).write(to: url)
        let back = try Tensor.readImage(at: url, dtype: .float64)
        let worst = zip(back.doubles, original.doubles).map { abs($0 - $1) * 255 }.max() ?? .infinity
        #expect(back.shape == original.shape && worst <= 4, "worst \(worst) levels")
        let gray = original.narrowed(axis: 0, start: 1, length: 1).contiguous()
        try gray.writeImage(to: folder.appendingPathComponent("gray.jpg"))
        #expect(try ImageIO.readImage(at: folder.appendingPathComponent("gray.jpg")).storedChannels == 1)
        #expect(throws: ImageIOError(.unsupportedTensor("JPEG quality 0 is outside 1...100"))) {
            try ImageIO.encodeJPEG(gray, quality: 0)
        }
        #expect(throws: ImageIOError.self) { try ImageIO.encodeJPEG(Tensor.zeros([4, 2, 2]), quality: 90) }
    }
}
