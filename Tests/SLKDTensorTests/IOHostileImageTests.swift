import Foundation
import Testing
import SLKDTensor
import SLKDTestSupport

/// Images and input files from strangers: a pixel budget checked on the header, one-line errors
/// for folders and missing files, and decoding without intermediate copies of the pixels.
@Suite("Hostile images and input files")
struct IOHostileImageTests {
    @Test func theBudgetIsCheckedOnTheHeaderAndNamesTheSize() throws {
        let data = try HostilePNG.claiming(width: 11_000, height: 11_000)
        #expect(data.count < 200)
        #expect(throws: ImageIOError(.imageTooLarge(width: 11_000, height: 11_000, limit: 1 << 24))) {
            try ImageIO.decodePNG(data, maximumPixels: 1 << 24)
        }
        let error = ImageIOError(.imageTooLarge(width: 11_000, height: 11_000, limit: 1 << 24), path: "big.png")
        #expect(error.description == "image 'big.png': 11000×11000 is 121000000 pixels, over the limit of 16777216")
        // The library's own ceiling still applies when a caller asks for more.
        #expect(throws: ImageIOError(.imageTooLarge(width: 20_000, height: 20_000, limit: ImageIO.maximumPixelCount))) {
            try ImageIO.decodePNG(try HostilePNG.claiming(width: 20_000, height: 20_000), maximumPixels: .max)
        }
    }

    @Test func decodingAllocatesOnlyTheResult() throws {
        var generator = RandomGenerator(seed: 3)
        let image = Tensor.uniform([3, 96, 128], using: &generator)
        let data = try ImageIO.encodePNG(image)
        for (dtype, bytes) in [(DType.float32, 4), (.float64, 8)] {
            let peak = try MemoryTracker.measuring { scope in
                _ = try ImageIO.decodePNG(data, channels: .rgba, dtype: dtype)
                return scope.peakBytes
            }
            #expect(peak == 4 * 96 * 128 * bytes)
        }
    }

    @Test func decodedValuesAreTheStoredSamples() throws {
        let samples: [Double] = [0, 1, 2, 127, 128, 254, 255, 77, 200, 13, 99, 250]
        let image = Tensor(shape: [3, 2, 2], scalars: samples.map { $0 / 255 })
        let data = try ImageIO.encodePNG(image)
        let rgb = try ImageIO.decodePNG(data, channels: .rgb, dtype: .float64).pixels.doubles
        #expect(rgb.map { ($0 * 255).rounded() } == samples)
        let gray = try ImageIO.decodePNG(data, channels: .gray, dtype: .float64).pixels.doubles
        let luma = (0..<4).map { (i: Int) -> Double in
            let r: Double = samples[i] / 255, g: Double = samples[4 + i] / 255, b: Double = samples[8 + i] / 255
            return 0.299 * r + 0.587 * g + 0.114 * b
        }
        #expect(gray == luma)
        let rgba = try ImageIO.decodePNG(data, channels: .rgba, dtype: .float32).pixels.floats
        #expect(Array(rgba[12..<16]) == [1, 1, 1, 1])
    }

    @Test func foldersAndMissingFilesAreOneLineNamingThePath() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slkd-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: InputFileError(path: folder.path, reason: "is a folder, not a file")) { try InputFile.read(folder) }
        let missing = folder.appendingPathComponent("absent.png")
        #expect(throws: InputFileError(path: missing.path, reason: "does not exist")) { try InputFile.read(missing) }
        do { _ = try Tensor.readPNG(at: folder); Issue.record("a folder decoded") } catch {
            #expect(error.description == "image '\(folder.path)': cannot read: is a folder, not a file")
        }
        let small = folder.appendingPathComponent("small.bin")
        try Data(repeating: 7, count: 100).write(to: small)
        #expect(throws: InputFileError(path: small.path, reason: "100 bytes is over the 99-byte limit")) {
            try InputFile.read(small, maximumBytes: 99)
        }
        #expect(try InputFile.read(small, maximumBytes: 100).count == 100)
    }
}
