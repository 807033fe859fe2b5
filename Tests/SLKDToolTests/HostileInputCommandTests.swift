import Foundation
import Testing
import SLKDTensor
import SLKDTestSupport

/// Hostile inputs to the built `slkd`: each ends with a non-zero status and one line naming the
/// file and the cause, never a crash, a hang or a silent success.
@Suite("slkd refuses hostile inputs in one line", .serialized)
struct HostileInputCommandTests {
    static func expectRefusal(_ r: ToolRunner.Result, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 1, "status \(r.status), stderr: \(r.standardError)", sourceLocation: sourceLocation)
        let lines = r.standardError.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.standardError)", sourceLocation: sourceLocation)
        #expect(r.standardError.contains(expected), "stderr: \(r.standardError)", sourceLocation: sourceLocation)
    }

    @Test func restoreAndEvalNeedWeightsOrAnExplicitRandomFlag() throws {
        let f = try RestoreEvalCommandTests.Fixture()
        defer { f.remove() }
        let out = f.url("out").path
        let restore = try ToolRunner.run(["restore", "--options", f.options.path, f.image.path, "--output", out])
        Self.expectRefusal(restore, "slkd restore needs trained weights: give --weights FILE")
        #expect(!FileManager.default.fileExists(atPath: out))
        let eval = try ToolRunner.run(["eval", "--arch", "res-sl", "--data", f.folder.path, "--output", out])
        Self.expectRefusal(eval, "slkd eval needs trained weights")
        let both = try ToolRunner.run(["restore", "--options", f.options.path, "--weights", "w.pth", "--random-weights",
                                       f.image.path, "--output", out])
        Self.expectRefusal(both, "give either --weights FILE or --random-weights, not both")
        let random = try ToolRunner.run(["restore", "--options", f.options.path, "--random-weights", f.image.path, "--output", out])
        #expect(random.status == 0, "\(random.standardError)")
        #expect(FileManager.default.fileExists(atPath: f.url("out/photo.png").path))
        // Staged outputs are renamed into place: nothing temporary is left beside them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["photo.png"])
    }

    @Test func foldersAndMissingFilesAreOneLineNamingThePath() throws {
        let f = try RestoreEvalCommandTests.Fixture()
        defer { f.remove() }
        let empty = f.url("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        Self.expectRefusal(try ToolRunner.run(["iqa", empty.path]), "input folder '\(empty.path)' holds no PNG or JPEG files")
        let missing = f.url("absent.png").path
        Self.expectRefusal(try ToolRunner.run(["iqa", missing]), "input '\(missing)' does not exist")
        Self.expectRefusal(try ToolRunner.run(["train", "--options", f.folder.path]), "\(f.folder.path): is a folder, not a file")
        let absentOptions = f.url("absent.yml").path
        Self.expectRefusal(try ToolRunner.run(["train", "--options", absentOptions]), "\(absentOptions): does not exist")
    }

    @Test func thePixelBudgetNamesTheImageSize() throws {
        let f = try RestoreEvalCommandTests.Fixture()
        defer { f.remove() }
        Self.expectRefusal(try ToolRunner.run(["iqa", f.image.path, "--max-pixels", "1000"]),
                           "image '\(f.image.path)': 37×29 is 1073 pixels, over the limit of 1000")
        let out = f.url("out").path
        Self.expectRefusal(try ToolRunner.run(["restore", "--options", f.options.path, "--random-weights", f.image.path,
                                               "--output", out, "--max-pixels", "1000"]),
                           "37×29 is 1073 pixels, over the limit of 1000")
        #expect(!FileManager.default.fileExists(atPath: f.url("out/photo.png").path))
        // A 176-byte file announcing 11000×11000 (121 M pixels, under the decoder's own ceiling)
        // is refused by the default budget from its header, before pixel memory is allocated.
        let big = f.url("big.png")
        try HostilePNG.claiming(width: 11_000, height: 11_000).write(to: big)
        Self.expectRefusal(try ToolRunner.run(["iqa", big.path]), "11000×11000 is 121000000 pixels, over the limit of 16777216")
    }

    @Test func hostileOptionsFilesAreOneLineNamingTheKey() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let base = TrainingCommandTests.options(data: root.appendingPathComponent("data"), experiments: root.appendingPathComponent("run"))
        var bomb = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...9 { bomb.append("l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        let cases: [(String, String)] = [
            ("deep: " + String(repeating: "[", count: 10_000) + "\n" + base, "line 1: nesting deeper than 64 levels"),
            (bomb.joined(separator: "\n") + "\n" + base, "expands to more than 100000 YAML nodes"),
            (base.replacingOccurrences(of: "manual_seed: 3", with: "manual_seed: -1"), "'manual_seed' must be in 0...9223372036854775807, got -1"),
            (base + "\nname: again\n", "duplicate key 'name'"),
            (base.replacingOccurrences(of: "save_checkpoint_freq: 2", with: "save_checkpoint_freq: 0"),
             "'logger.save_checkpoint_freq' must be in 1...1000000000, got 0"),
            (base.replacingOccurrences(of: "dim: 8", with: "dim: 4611686018427387904"), "network_g.dim must be in 1...1024"),
            (base.replacingOccurrences(of: "periods: [3]", with: "periods: [.nan]"), "'train.scheduler.periods[0]' should be a finite number"),
        ]
        for (i, (text, expected)) in cases.enumerated() {
            let url = root.appendingPathComponent("hostile\(i).yml")
            try text.write(to: url, atomically: true, encoding: .utf8)
            let r = try ToolRunner.run(["train", "--options", url.path])
            Self.expectRefusal(r, expected)
            #expect(r.standardError.contains(url.path), "the file is named: \(r.standardError)")
        }
    }

    @Test func anInconsistentCheckpointIsNotResumed() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let (options, run) = try TrainingCommandTests.trainTinyRun(in: root)
        let checkpoint = run.appendingPathComponent("training_states/latest.safetensors")
        let weights = run.appendingPathComponent("models/net_g_latest.safetensors")
        let contents = try SafeTensors.read(from: checkpoint)
        let json = try #require(contents.metadata["slkd.training"])
        // Step 2⁶² used to "resume", train nothing and write final weights with status 0.
        let tampered = json.replacingOccurrences(of: "\"step\":3", with: "\"step\":4611686018427387904")
        try #require(tampered != json)
        try SafeTensors.write(contents.names.map { ($0, contents.tensors[$0]!) }, metadata: ["slkd.training": tampered], to: checkpoint)
        try FileManager.default.removeItem(at: weights)
        let resumed = try ToolRunner.run(["train", "--options", options.path, "--resume", checkpoint.path])
        Self.expectRefusal(resumed, "step 4611686018427387904 is past train.total_iter (3)")
        #expect(!FileManager.default.fileExists(atPath: weights.path), "no final weights are written")
    }
}

/// `slkd iqa`'s peak memory grows with the pixels by a bounded number of bytes each, measured as
/// the child's maximum resident set by `/usr/bin/time` (the tensor tracker does not see the
/// metrics' float64 arrays).
@Suite("slkd iqa memory per pixel", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"),
                "needs GNU time at /usr/bin/time (Debian's time package, which Scripts/ensure-dependencies.sh installs)"))
struct IQAMemoryTests {
    /// Peak resident kilobytes of `slkd iqa file`.
    static func peakKilobytes(_ file: URL) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "peak-kb %M", try ToolRunner.executable.get().path, "iqa", file.path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let line = try #require(text.split(separator: "\n").last { $0.hasPrefix("peak-kb ") })
        return try #require(Int(line.dropFirst(8)))
    }

    /// Bytes a pixel that `slkd iqa` adds to its peak between a 1024² and a 2048² image (both
    /// larger than MSCN's fixed-size bands, whose temporaries are therefore the same in both).
    static func growthPerPixel(channels: Int) throws -> Double {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        var generator = RandomGenerator(seed: 5)
        let small = root.appendingPathComponent("small.png"), large = root.appendingPathComponent("large.png")
        try Tensor.uniform([channels, 1024, 1024], using: &generator).writePNG(to: small)
        try Tensor.uniform([channels, 2048, 2048], using: &generator).writePNG(to: large)
        let growth = try Self.peakKilobytes(large) - Self.peakKilobytes(small)
        return Double(growth * 1024) / Double(2048 * 2048 - 1024 * 1024)
    }

    @Test func aGrayImageCostsAtMostEighteenBytesAPixel() throws {
        // What must stay: the image's float64 grey plane (8 bytes) and one plane of MSCN
        // coefficients (8) — 16, measured 16.2. Before issue 13 this was about 60 bytes a pixel
        // (float64 decode, copies for rounding, whole-image MSCN temporaries, an image-sized
        // products array, features twice), then 26 (MSCN bands of 256 rows of any width, PIQE's
        // padded copy, freed planes kept resident by glibc's rising mmap threshold).
        let bytesPerPixel = try Self.growthPerPixel(channels: 1)
        #expect(bytesPerPixel <= 18, "\(bytesPerPixel) bytes a pixel")
    }

    @Test func anRGBImageWithoutAReferenceCostsAtMostTwentyBytesAPixel() throws {
        // Converted to its grey plane while loading: the same 16 bytes once loaded, and the float32
        // decode (12) beside the grey plane (8) while converting; measured 17.2.
        let bytesPerPixel = try Self.growthPerPixel(channels: 3)
        #expect(bytesPerPixel <= 20, "\(bytesPerPixel) bytes a pixel")
    }
}
