import Foundation
import Testing
import SLKDTensor
#if canImport(Glibc)
import Glibc
#endif

@Suite("Atomic file writes")
struct IOAtomicWriteTests {
    @Test("replacing a file leaves only the new file, no temporary")
    func replaces() throws {
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensors.write([("a", Tensor.ones([2]))], to: url)
        try SafeTensors.write([("b", Tensor.zeros([3]))], to: url)
        #expect(try SafeTensors.read(from: url).names == ["b"])
        try Tensor.ones([1, 2, 2]).writePNG(to: dir.appendingPathComponent("i.png"))
        #expect(directoryListing(dir) == ["i.png", "w.safetensors"])
    }

    @Test("a missing target directory is a typed error and creates nothing")
    func missingDirectory() {
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("missing/w.safetensors")
        #expect {
            try SafeTensors.write([("a", Tensor.ones([2]))], to: url)
        } throws: { error in
            guard let e = error as? SafeTensorsError, case .writeFailed = e.reason else { return false }
            return e.path == url.path
        }
        let png = dir.appendingPathComponent("missing/i.png")
        #expect {
            try Tensor.ones([1, 2, 2]).writePNG(to: png)
        } throws: { error in
            guard let e = error as? ImageIOError, case .writeFailed = e.reason else { return false }
            return e.path == png.path
        }
        #expect(directoryListing(dir).isEmpty)
    }

    @Test("a failed write keeps the existing file and leaves no temporary")
    func failureKeepsExisting() throws {
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("keep.safetensors")
        try SafeTensors.write([("old", Tensor.ones([2]))], to: url)
        let before = try Data(contentsOf: url)

        // Fails while encoding (duplicate names): nothing is touched.
        #expect(throws: SafeTensorsError.self) {
            try SafeTensors.write([("x", Tensor.ones([1])), ("x", Tensor.ones([1]))], to: url)
        }
        #expect(try Data(contentsOf: url) == before)

        // Fails at the rename (the destination is a non-empty directory): the temporary file is removed.
        let blocked = dir.appendingPathComponent("blocked.png")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        try Data([1, 2, 3]).write(to: blocked.appendingPathComponent("inside"))
        #expect {
            try Tensor.ones([3, 2, 2]).writePNG(to: blocked)
        } throws: { error in
            guard let e = error as? ImageIOError, case .writeFailed = e.reason else { return false }
            return true
        }
        #expect(directoryListing(blocked) == ["inside"])
        #expect(directoryListing(dir) == ["blocked.png", "keep.safetensors"])
        #expect(try Data(contentsOf: url) == before)
    }
}

/// Writes the files that `Scripts/torchref/io_fixtures.py --check DIR` reads with Python's
/// safetensors and Pillow, into $SLKD_IO_EXPORT_DIR when it is set (to run that check by hand) or a
/// temporary folder, and reads each back through this package's readers against the values the
/// export promises in expected.json.
@Suite("IO interop export")
struct IOInteropExportTests {
    @Test("export files for the Python check, each read back as promised")
    func export() throws {
        let exportDir = ProcessInfo.processInfo.environment["SLKD_IO_EXPORT_DIR"]
        let dir = exportDir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("slkd-io-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if exportDir == nil { try? FileManager.default.removeItem(at: dir) } }
        var expected: [String: [String: Any]] = ["safetensors": [:], "png": [:]]
        func record(_ t: Tensor, torchDType: String) -> [String: Any] {
            var r: [String: Any] = ["torch_dtype": torchDType, "shape": t.shape]
            if t.dtype == .int64 { r["ints"] = t.integers } else { r["data"] = t.doubles }
            return r
        }
        var rng = RandomGenerator(seed: 2024)
        let f32 = Tensor.normal([2, 3], using: &rng)
        let f64 = Tensor.normal([4], dtype: .float64, using: &rng)
        let idx = Tensor(shape: [3], indices: [0, -7, Int(Int64.max)])
        let meta = ["format": "pt", "by": "SLKD \u{2713}"]
        try SafeTensors.write([("w", f32), ("d", f64), ("i", idx)], metadata: meta, to: dir.appendingPathComponent("swift_mixed.safetensors"))
        expected["safetensors"]!["swift_mixed.safetensors"] = ["metadata": meta, "tensors": [
            "w": record(f32, torchDType: "torch.float32"), "d": record(f64, torchDType: "torch.float64"),
            "i": record(idx, torchDType: "torch.int64")]]
        // Values exact in half and bfloat16, so the expected values need no rounding model.
        let halfExact = Tensor(shape: [2, 3], scalars: [1, -2.5, 0.375, 1024, -0.0078125, 0] as [Float])
        for (file, format, dtype) in [("swift_f16.safetensors", SafeTensors.FloatFormat.f16, "torch.float16"),
                                      ("swift_bf16.safetensors", .bf16, "torch.bfloat16")] {
            try SafeTensors.write([("h", halfExact)], floatFormat: format, to: dir.appendingPathComponent(file))
            expected["safetensors"]![file] = ["metadata": [String: String](), "tensors": ["h": record(halfExact, torchDType: dtype)]]
        }
        for (c, depth) in [(1, ImageIO.BitDepth.eight), (2, .eight), (3, .eight), (4, .eight), (1, .sixteen), (3, .sixteen)] {
            let x = Tensor.uniform([c, 3, 4], dtype: .float64, using: &rng)
            let name = "swift_c\(c)_\(depth.rawValue).png"
            try x.writePNG(to: dir.appendingPathComponent(name), bitDepth: depth)
            let scale = Double((1 << depth.rawValue) - 1)
            expected["png"]![name] = ["bitDepth": depth.rawValue, "channels": c, "shape": x.shape,
                                      "ints": x.doubles.map { Int(($0 * scale + 0.5).rounded(.down)) }]
        }
        let json = try JSONSerialization.data(withJSONObject: expected, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: dir.appendingPathComponent("expected.json"))
        try Self.expectEachFileReadsBack(expected, from: dir)
    }

    /// Every exported tensor and image, read back, holds the values and shape recorded for it.
    static func expectEachFileReadsBack(_ expected: [String: [String: Any]], from dir: URL) throws {
        var checked = 0
        for (file, entry) in try #require(expected["safetensors"]) {
            let contents = try SafeTensors.read(from: dir.appendingPathComponent(file))
            let tensors = try #require((entry as? [String: Any])?["tensors"] as? [String: [String: Any]])
            for (name, record) in tensors {
                let tensor = try #require(contents[name], "\(file) lacks \(name)")
                #expect(tensor.shape == (record["shape"] as? [Int]), "\(file) \(name)")
                if let ints = record["ints"] as? [Int] { #expect(tensor.integers == ints, "\(file) \(name)") }
                else { #expect(tensor.doubles == (record["data"] as? [Double]), "\(file) \(name)") }
                checked += 1
            }
        }
        for (file, entry) in try #require(expected["png"]) {
            let record = try #require(entry as? [String: Any])
            let depth = try #require(record["bitDepth"] as? Int)
            let png = try ImageIO.readPNG(at: dir.appendingPathComponent(file), channels: .storedWithAlpha, dtype: .float64)
            #expect(png.info.bitDepth == depth, "\(file)")
            #expect(png.pixels.shape == (record["shape"] as? [Int]), "\(file)")
            let scale = Double((1 << depth) - 1)
            #expect(png.pixels.doubles.map { Int(($0 * scale).rounded()) } == (record["ints"] as? [Int]), "\(file)")
            checked += 1
        }
        // 3 tensors of the mixed file, one in each half-precision file, 6 images.
        #expect(checked == 11)
    }

    @Test("a killed write's temporary file is removed by the next write to the same file; others stay")
    func staleTemporariesAreRemoved() throws {
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in [".latest.safetensors.tmp-123456", ".other.safetensors.tmp-42", ".latest.safetensors.tmp-notes"] {
            try Data([1, 2, 3]).write(to: dir.appendingPathComponent(name))
        }
        try SafeTensors.write([("x", Tensor.ones([1]))], to: dir.appendingPathComponent("latest.safetensors"))
        #expect(directoryListing(dir) == [".latest.safetensors.tmp-notes", ".other.safetensors.tmp-42", "latest.safetensors"])
    }

    @Test("a temporary file another writer still holds (its flock is taken) is left alone")
    func liveTemporariesAreKept() throws {
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let live = dir.appendingPathComponent(".latest.safetensors.tmp-99")
        try Data([1]).write(to: live)
        let fd = open(live.path, O_RDONLY)
        defer { close(fd) }
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        try SafeTensors.write([("x", Tensor.ones([1]))], to: dir.appendingPathComponent("latest.safetensors"))
        #expect(directoryListing(dir) == [".latest.safetensors.tmp-99", "latest.safetensors"])
    }
}
