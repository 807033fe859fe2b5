import Foundation
import Testing
import SLKDTensor

@Suite("PNG")
struct IOPNGTests {
    static let fixtures = IOFixtures.shared

    @Test("reads PNGs made by Pillow and numpy exactly", arguments: fixtures.png.keys.sorted())
    func readsFixtures(file: String) throws {
        let e = try #require(Self.fixtures.png[file])
        let image = try ImageIO.readPNG(at: IOFixtures.url(file), channels: .storedWithAlpha, dtype: .float64)
        #expect(image.info.storedChannels == e.storedChannels)
        #expect(image.info.bitDepth == (e.bitDepth == 16 ? 16 : 8))
        #expect(image.info.isPalette == e.palette)
        #expect(image.info.width == e.shape[2] && image.info.height == e.shape[1])
        #expect(image.warning == nil)
        #expect(image.pixels.shape == e.shape)
        #expect(image.pixels.dtype == .float64)
        let got = image.pixels.doubles
        let plane = e.shape[1] * e.shape[2]
        let hasAlpha = e.storedChannels % 2 == 0
        for i in 0..<got.count {
            let isColor = !hasAlpha || i < (e.shape[0] - 1) * plane
            if e.alphaExact || !isColor {
                #expect(got[i] == e.data[i], "\(file) element \(i): \(got[i]) != \(e.data[i])")
            } else {
                // libpng premultiplies 16-bit colour by alpha (alpha ≥ 40000 here): one 16-bit step.
                #expect(Swift.abs(got[i] - e.data[i]) <= 1.0 / 65535, "\(file) element \(i)")
            }
        }
        // float32 output: the same values, rounded to float32.
        let f = try Tensor.readPNG(at: IOFixtures.url(file), channels: .storedWithAlpha)
        #expect(f.dtype == .float32)
        #expect(f.floats == got.map { Float($0) })
    }

    @Test("converts channels on request", arguments: ["gray8.png", "rgb8.png", "rgba8.png", "gray_alpha8.png", "palette_alpha.png"])
    func channelOptions(file: String) throws {
        let e = try #require(Self.fixtures.png[file])
        let url = IOFixtures.url(file)
        let n = e.shape[1] * e.shape[2]
        let hasColor = e.storedChannels >= 3, hasAlpha = e.storedChannels % 2 == 0
        let planes = (0..<e.shape[0]).map { Array(e.data[($0 * n)..<(($0 + 1) * n)]) }
        let color = Array(planes.prefix(hasColor ? 3 : 1))
        let alpha = hasAlpha ? planes.last! : [Double](repeating: 1, count: n)
        let luma = hasColor ? (0..<n).map { 0.299 * color[0][$0] + 0.587 * color[1][$0] + 0.114 * color[2][$0] } : color[0]
        let rgb = hasColor ? color : [color[0], color[0], color[0]]
        let cases: [(ImageIO.Channels, [[Double]])] = [
            (.stored, color), (.gray, [luma]), (.grayAlpha, [luma, alpha]), (.rgb, rgb), (.rgba, rgb + [alpha]),
        ]
        for (channels, want) in cases {
            let t = try Tensor.readPNG(at: url, channels: channels, dtype: .float64)
            #expect(t.shape == [want.count, e.shape[1], e.shape[2]], "\(file) \(channels)")
            let got = t.doubles, flat = want.flatMap { $0 }
            #expect(got.count == flat.count && zip(got, flat).allSatisfy { Swift.abs($0 - $1) <= 1e-12 }, "\(file) \(channels)")
        }
    }

    @Test("gray conversion agrees with Pillow's convert(\"L\") to within its rounding")
    func lumaMatchesPillow() throws {
        let pillow = try #require(Self.fixtures.pillow_luma["rgb8.png"])
        let gray = try Tensor.readPNG(at: IOFixtures.url("rgb8.png"), channels: .gray, dtype: .float64).doubles
        for (g, p) in zip(gray, pillow) {
            #expect(Swift.abs(g * 255 - Double(p)) <= 0.5 + 1e-9, "\(g * 255) vs Pillow \(p)")
        }
    }

    @Test("rejects corrupt, truncated and non-PNG files with a typed error naming the file", arguments: fixtures.corrupt_png)
    func rejectsCorrupt(file: String) {
        let url = IOFixtures.url(file)
        #expect {
            _ = try Tensor.readPNG(at: url)
        } throws: { error in
            guard let e = error as? ImageIOError, e.path == url.path, e.description.contains(url.lastPathComponent)
            else { return false }
            switch e.reason {
            case .imageTooLarge: return file.hasSuffix("huge_dimensions.png")
            case .invalidPNG(let message): return !message.isEmpty && !file.hasSuffix("huge_dimensions.png")
            default: return false
            }
        }
    }

    @Test("a recoverable problem decodes with libpng's warning", arguments: fixtures.png_warnings.keys.sorted())
    func warnings(file: String) throws {
        let intact = try #require(Self.fixtures.png_warnings[file])
        let image = try ImageIO.readPNG(at: IOFixtures.url(file))
        let warning = try #require(image.warning)
        #expect(warning.contains("CRC"), "\(warning)")
        #expect(image.pixels.floats == (try Tensor.readPNG(at: IOFixtures.url(intact))).floats)
    }

    @Test("every truncation of a valid PNG is a typed error")
    func truncations() throws {
        let good = try Data(contentsOf: IOFixtures.url("rgba8.png"))
        // The last 12 bytes are the IEND chunk, which libpng does not need to decode the pixels.
        for length in 0..<(good.count - 12) {
            #expect(throws: ImageIOError.self, "length \(length)") { try ImageIO.decodePNG(good.prefix(length)) }
        }
    }

    @Test("8-bit write then read gives floor(x·255 + 0.5)/255", arguments: [1, 2, 3, 4])
    func roundTrip8(channels: Int) throws {
        var rng = RandomGenerator(seed: UInt64(channels))
        // Values beyond [0, 1] check clamping.
        let x = Tensor.uniform([channels, 7, 9], low: -0.2, high: 1.2, dtype: .float64, using: &rng)
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("out.png")
        try x.writePNG(to: url)
        let back = try ImageIO.readPNG(at: url, channels: .storedWithAlpha, dtype: .float64)
        #expect(back.info.storedChannels == channels && back.info.bitDepth == 8)
        #expect(back.pixels.shape == x.shape)
        let want = x.doubles.map { (Swift.min(Swift.max($0, 0), 1) * 255 + 0.5).rounded(.down) / 255 }
        #expect(back.pixels.doubles == want)
        #expect(directoryListing(dir) == ["out.png"])
    }

    @Test("16-bit write then read gives floor(x·65535 + 0.5)/65535", arguments: [1, 3])
    func roundTrip16(channels: Int) throws {
        var rng = RandomGenerator(seed: 16 + UInt64(channels))
        let x = Tensor.uniform([channels, 5, 6], dtype: .float64, using: &rng)
        let data = try ImageIO.encodePNG(x, bitDepth: .sixteen)
        let back = try ImageIO.decodePNG(data, channels: .storedWithAlpha, dtype: .float64)
        #expect(back.info.bitDepth == 16 && back.info.storedChannels == channels)
        let want = x.doubles.map { ($0 * 65535 + 0.5).rounded(.down) / 65535 }
        #expect(back.pixels.doubles == want)
    }

    @Test("quantisation rounds half up, clamps, and maps NaN to 0; H×W tensors are gray")
    func quantisation() throws {
        // 0.5/255 etc. are chosen so that x·255 + 0.5 is exact in Double.
        let x = Tensor(shape: [1, 6], scalars: [0.5 / 255, 2.5 / 255, -3, 7, .nan, 254.5 / 255] as [Double])
        let got = try ImageIO.decodePNG(ImageIO.encodePNG(x), dtype: .float64).pixels.doubles.map { Int(($0 * 255).rounded()) }
        #expect(got == [1, 3, 0, 255, 0, 255])
        let gray = try ImageIO.decodePNG(ImageIO.encodePNG(Tensor.ones([2, 3]))).pixels
        #expect(gray.shape == [1, 2, 3] && gray.floats == [Float](repeating: 1, count: 6))
    }

    @Test("tensors without an image layout are typed errors")
    func unsupportedTensors() {
        let bad: [(Tensor, ImageIO.BitDepth)] = [
            (Tensor.zeros([5, 4, 4]), .eight), (Tensor.zeros([2, 4, 4]), .sixteen), (Tensor.zeros([4, 4, 4]), .sixteen),
            (Tensor.zeros([1, 0, 4]), .eight), (Tensor.zeros([4]), .eight), (Tensor.zeros([3, 4, 4], dtype: .int64), .eight),
        ]
        for (t, depth) in bad {
            #expect("\(t.shape) \(t.dtype) \(depth)") {
                _ = try ImageIO.encodePNG(t, bitDepth: depth)
            } throws: { error in
                guard let e = error as? ImageIOError, case .unsupportedTensor = e.reason else { return false }
                return true
            }
        }
    }

    @Test("a missing file is an unreadable-file error naming it")
    func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/slkd/image.png")
        #expect {
            _ = try Tensor.readPNG(at: url)
        } throws: { error in
            guard let e = error as? ImageIOError, case .unreadable = e.reason else { return false }
            return e.path == url.path
        }
    }
}
