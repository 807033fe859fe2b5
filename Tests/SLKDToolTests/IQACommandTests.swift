import Foundation
import Testing
import SLKDQuality
import SLKDTensor

/// `slkd iqa` as pyiqa users expect it: metrics chosen by name, folders, CSV, one bad file reported
/// while the rest are scored, and warnings where a score leaves its documented range.
@Suite("slkd iqa like pyiqa", .serialized)
struct IQACommandTests {
    static let camera = ToolRunner.packageRoot.appendingPathComponent("Sources/SLKDDistill/Resources/SampleImages/camera.png")

    /// A crop of the camera sample, `width`×`height` at (`left`, `top`).
    static func crop(_ left: Int, _ top: Int, _ width: Int, _ height: Int) throws -> Tensor {
        try Tensor.readImage(at: camera, channels: .rgb).narrowed(axis: 1, start: top, length: height)
            .narrowed(axis: 2, start: left, length: width).contiguous()
    }

    /// The library's BRISQUE score of a file, as the tool loads it (8-bit samples on 0–255).
    static func brisque(_ url: URL) throws -> Double {
        let pixels = try Tensor.readImage(at: url, dtype: .float64)
        let image = try QualityImage(width: pixels.shape[2], height: pixels.shape[1], channels: pixels.shape[0],
                                     pixels: pixels.doubles.map { ($0 * 255).rounded() })
        return try BRISQUE.score(image)
    }

    @Test func folderWithABadFileScoresTheRestAndWritesCSV() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.crop(100, 60, 96, 80).writeImage(to: folder.appendingPathComponent("a.png"))
        try Self.crop(200, 150, 96, 80).writeImage(to: folder.appendingPathComponent("b.jpg"))
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: folder.appendingPathComponent("c.png"))
        try Data("notes".utf8).write(to: folder.appendingPathComponent("readme.txt"))
        let csv = root.appendingPathComponent("scores.csv")
        let r = try ToolRunner.run(["iqa", "--metric", "brisque", "--metric", "piqe", folder.path, "--csv", csv.path])
        #expect(r.status == 1, "one file failed: \(r.standardError)")
        let errors = r.standardError.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1 && errors[0].contains("c.png") && errors[0].contains("not a valid PNG"))
        #expect(r.standardOutput.split(separator: "\n").count == 2)

        let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.first?.joined(separator: ",") == "image,brisque,piqe,psnr,ssim,psnr_y,ssim_y,warning,error")
        #expect(rows.count == 4 && rows.dropFirst().map { URL(fileURLWithPath: String($0[0])).lastPathComponent } == ["a.png", "b.jpg", "c.png"])
        for (k, name) in ["a.png", "b.jpg"].enumerated() {
            let score = try #require(Double(rows[k + 1][1]))
            #expect(abs(score - (try Self.brisque(folder.appendingPathComponent(name)))) < 1e-9, "\(name)")
            #expect(Double(rows[k + 1][2]) != nil && rows[k + 1][3].isEmpty)
        }
        #expect(rows[3][1].isEmpty && rows[3].last?.contains("not a valid PNG") == true)
    }

    @Test func fullReferenceMetricsNeedAReferenceAndPairByName() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let noPair = try ToolRunner.run(["iqa", "--metric", "psnr", Self.camera.path])
        #expect(noPair.status != 0 && noPair.standardError.contains("give --reference FILE or FOLDER"))
        let unknown = try ToolRunner.run(["iqa", "--metric", "niqe", Self.camera.path])
        #expect(unknown.status != 0 && unknown.standardError.contains("unknown metric 'niqe'"))

        for side in ["restored", "clean"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(side), withIntermediateDirectories: true)
        }
        let clean = try Self.crop(100, 60, 64, 48)
        try clean.writeImage(to: root.appendingPathComponent("clean/7.png"))
        let restored = (clean * 0.9).contiguous()
        try restored.writeImage(to: root.appendingPathComponent("restored/7.png"))
        let r = try ToolRunner.run(["iqa", "--metric", "psnr,ssim", root.appendingPathComponent("restored").path,
                                    "--reference", root.appendingPathComponent("clean").path, "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [[String: Any]])
        let report = try #require(reports.first)
        #expect(report["brisque"] == nil && report["piqe"] == nil && report["ssim"] is Double)
        // PSNR over the 8-bit files, computed here from their samples.
        let a = try Tensor.readImage(at: root.appendingPathComponent("restored/7.png"), dtype: .float64).doubles
        let b = try Tensor.readImage(at: root.appendingPathComponent("clean/7.png"), dtype: .float64).doubles
        let mse = zip(a, b).reduce(0.0) { $0 + pow(($1.0 - $1.1) * 255, 2) } / Double(a.count)
        #expect(abs(try #require(report["psnr"] as? Double) - 10 * log10(255 * 255 / mse)) < 1e-9)
    }

    /// A 16×12 crop scores outside BRISQUE's 0–100 and has no full PIQE block: both are warned
    /// about, with the reason, and the scores are still given.
    @Test func outOfRangeScoresCarryAWarning() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let tiny = root.appendingPathComponent("tiny.png")
        try Self.crop(0, 0, 16, 12).writeImage(to: tiny)
        let score = try Self.brisque(tiny)
        try #require(score > 100, "the premise: this crop scores \(score)")
        let r = try ToolRunner.run(["iqa", tiny.path, "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let report = try #require((try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [[String: Any]])?.first)
        let warnings = try #require(report["warnings"] as? [String])
        #expect(warnings.count == 2)
        #expect(warnings[0].hasPrefix("BRISQUE \(String(format: "%.3f", score)) is outside the LIVE model's 0–100 range: the image (16×12) is smaller than 64 pixels"))
        #expect(warnings[1] == "PIQE needs 16×16 blocks and the image is 16×12: the score means nothing")
        #expect(r.standardError.contains("warning: \(tiny.path): BRISQUE"))
    }
}
