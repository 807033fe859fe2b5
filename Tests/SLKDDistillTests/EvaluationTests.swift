import Foundation
import Testing
import SLKDDistill
import SLKDQuality

/// Clean images with 8-bit values in 20…230 (so a small offset never clips) and their inputs.
private struct OffsetTestSet: PairedDataset {
    var count: Int { 3 }
    func name(at index: Int) -> String { "test\(index).png" }
    func pair(at index: Int, epoch: Int) throws(DatasetError) -> ImagePair {
        var g = RandomGenerator(seed: UInt64(index))
        let clean = Tensor(shape: [3, 24, 20], scalars: (0..<(3 * 24 * 20)).map { _ in Float(20 + g.uniformInt(below: 211)) / 255 })
        return ImagePair(name: name(at: index), degraded: clean, clean: clean)
    }
}

/// Adds `offset`/255 to every pixel.
private func shifted(_ image: Tensor, by offset: Int) -> Tensor {
    Tensor(shape: image.shape, scalars: image.floats.map { $0 + Float(offset) / 255 })
}

@Suite("Test-set evaluation")
struct EvaluationTests {
    @Test("a constant offset d gives PSNR 20·log10(255/d) (RGB), and 255/(d·219/255) on Y")
    func constantOffsetClosedForm() throws {
        let rgb = try TestSetEvaluation.run(OffsetTestSet(), options: .init(testYChannel: false)) { shifted($0, by: 5) }
        let expectedRGB = 20 * log10(255.0 / 5)
        for s in rgb.images { #expect(abs(s.psnr - expectedRGB) < 1e-9, "\(s.image): \(s.psnr)") }
        #expect(abs(rgb.mean.psnr - expectedRGB) < 1e-9)

        // BasicSR's Y = (65.481 R + 128.553 G + 24.966 B)/255 + 16 on 0–255 input: the offset
        // scales by (65.481 + 128.553 + 24.966)/255 = 219/255.
        let y = try TestSetEvaluation.run(OffsetTestSet(), options: .init(testYChannel: true)) { shifted($0, by: 5) }
        let expectedY = 20 * log10(255.0 / (5 * 219.0 / 255))
        for s in y.images { #expect(abs(s.psnr - expectedY) < 1e-6, "\(s.image): \(s.psnr)") }
    }

    @Test("per-image numbers equal FullReference on the 8-bit images, mean is their average")
    func matchesFullReference() throws {
        let options = EvaluationOptions(testYChannel: true, cropBorder: 2)
        var noise = RandomGenerator(seed: 11)
        var restoredImages: [Tensor] = []
        let report = try TestSetEvaluation.run(OffsetTestSet(), name: "offsets", options: options) { input in
            let out = GaussianNoise(sigma: 8...8).apply(to: input, using: &noise)
            restoredImages.append(out)
            return out
        }
        #expect(report.dataset == "offsets" && report.count == 3)
        let metricOptions = FullReference.Options(testYChannel: true, cropBorder: 2)
        for (i, s) in report.images.enumerated() {
            let clean = try OffsetTestSet().pair(at: i).clean
            let a = try QualityImage(Tensor(shape: clean.shape, scalars: restoredImages[i].doubles.map { ($0 * 255).rounded() }))
            let b = try QualityImage(Tensor(shape: clean.shape, scalars: clean.doubles.map { ($0 * 255).rounded() }))
            #expect(s.psnr == (try FullReference.psnr(a, b, options: metricOptions)))
            #expect(s.ssim == (try FullReference.ssim(a, b, options: metricOptions)))
            #expect(s.psnr > 25 && s.psnr < 40 && s.ssim > 0.5 && s.ssim < 1)
        }
        #expect(abs(report.mean.psnr - report.images.map(\.psnr).reduce(0, +) / 3) < 1e-12)
        #expect(abs(report.mean.ssim - report.images.map(\.ssim).reduce(0, +) / 3) < 1e-12)
    }

    @Test("crop border: errors only in the border leave the compared region exact (PSNR +∞, SSIM 1)")
    func cropBorderExcludesEdges() throws {
        let borderOnly: (Tensor) -> Tensor = { image in
            let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
            var v = image.floats
            for k in 0..<c { for y in 0..<h { for x in 0..<w where y < 3 || x < 3 || y >= h - 3 || x >= w - 3 {
                v[(k * h + y) * w + x] = 0
            } } }
            return Tensor(shape: image.shape, scalars: v)
        }
        let cropped = try TestSetEvaluation.run(OffsetTestSet(), options: .init(cropBorder: 3), restore: borderOnly)
        #expect(cropped.images.allSatisfy { $0.psnr == .infinity && abs($0.ssim - 1) < 1e-12 })
        let uncropped = try TestSetEvaluation.run(OffsetTestSet(), options: .init(cropBorder: 2), restore: borderOnly)
        #expect(uncropped.images.allSatisfy { $0.psnr.isFinite })
    }

    @Test("CSV and JSON reports are written atomically and read back")
    func reportsRoundTrip() throws {
        let folder = try TemporaryFolder()
        var calls = 0
        let report = try TestSetEvaluation.run(OffsetTestSet(), name: "Rain100H", options: .init(testYChannel: false),
                                               restoredImagesFolder: folder.url.appendingPathComponent("restored")) { input in
            calls += 1
            return calls == 2 ? input : shifted(input, by: 3)  // the second image exact: PSNR +∞
        }
        let json = folder.url.appendingPathComponent("report.json"), csv = folder.url.appendingPathComponent("report.csv")
        try report.writeJSON(to: json)
        try report.writeCSV(to: csv)
        try report.writeCSV(to: csv)  // replacing an existing file

        let decoded = try EvaluationReport.decode(json: Data(contentsOf: json))
        #expect(decoded == report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        let first = try #require((object["images"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["image", "psnr", "ssim"])
        #expect(Set((object["mean"] as? [String: Any] ?? [:]).keys) == ["psnr", "ssim"])

        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 5 && lines[0] == "image,psnr,ssim")
        for (k, s) in report.images.enumerated() {
            let fields = lines[k + 1].split(separator: ",").map(String.init)
            #expect(fields[0] == s.image)
            #expect(s.psnr.isInfinite ? fields[1] == "inf" : Double(fields[1]) == s.psnr)
            #expect(Double(fields[2]) == s.ssim)
        }
        #expect(lines[4].hasPrefix("mean,"))
        #expect(report.images.map { $0.psnr == .infinity } == [false, true, false])
        #expect(report.mean.psnr == .infinity)

        // The restored images were saved as PNG under the pairs' names, with no temporary files left.
        let saved = try FileManager.default.contentsOfDirectory(atPath: folder.url.appendingPathComponent("restored").path).sorted()
        #expect(saved == ["test0.png", "test1.png", "test2.png"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted() == ["report.csv", "report.json", "restored"])
    }

    @Test("a failing restoration, a wrong output shape and an unreadable pair name the image")
    func errorsNameTheImage() throws {
        struct Boom: Error {}
        do {
            _ = try TestSetEvaluation.run(OffsetTestSet()) { input in
                if input.floats[0] == (try OffsetTestSet().pair(at: 1).clean.floats[0]) { throw Boom() }
                return input
            }
            Issue.record("expected an error")
        } catch {
            guard case .restorationFailed(let image, _) = error else { Issue.record("got \(error)"); return }
            #expect(image == "test1.png")
        }
        do {
            _ = try TestSetEvaluation.run(OffsetTestSet()) { $0.narrowed(axis: 1, start: 0, length: 20) }
            Issue.record("expected an error")
        } catch {
            #expect(error == .wrongOutputShape(image: "test0.png", expected: [3, 24, 20], actual: [3, 20, 20]))
        }
        let folder = try TemporaryFolder()
        try writePairs(folder, degraded: "input", clean: "target", names: ["a.png"])
        try Data("broken".utf8).write(to: folder.file("input/a.png"))
        do {
            _ = try TestSetEvaluation.run(try FolderPairedDataset(root: folder.url, layout: .rain100)) { $0 }
            Issue.record("expected an error")
        } catch let error as EvaluationError {
            guard case .dataset(let inner) = error, case .unreadableImage(let path, _) = inner.reason else {
                Issue.record("got \(error)"); return
            }
            #expect(path.hasSuffix("input/a.png"))
        }
    }
}
