// Prints the BRISQUE and PIQE scores of every PNG in a folder as a table (both 0–100-ish,
// lower is better).
//
//   swift run -c release --package-path Examples FolderQuality FOLDER
import Foundation
import SLKDQuality

struct UsageError: Error, CustomStringConvertible { var description: String }

/// A PNG as the metrics want it: planar, on the 0–255 scale, 8-bit files as integers.
func qualityImage(at url: URL) throws -> QualityImage {
    let png = try ImageIO.readPNG(at: url, channels: .stored, dtype: .float64)
    let scale = png.info.bitDepth <= 8 ? 255.0 : 65535.0
    let pixels = png.pixels.doubles.map { ($0 * scale).rounded() * 255 / scale }
    let (c, h, w) = (png.pixels.shape[0], png.pixels.shape[1], png.pixels.shape[2])
    return try QualityImage(width: w, height: h, channels: c, pixels: pixels)
}

func main() throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard arguments.count == 1, !arguments[0].hasPrefix("-") else { throw UsageError(description: "usage: FolderQuality FOLDER") }
    let folder = URL(fileURLWithPath: arguments[0])
    let files: [URL]
    do {
        files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension.lowercased() == "png" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    } catch {
        throw UsageError(description: "\(folder.path): cannot list the folder")
    }
    guard !files.isEmpty else { throw UsageError(description: "\(folder.path): no PNG files") }

    let nameWidth = max(5, files.map(\.lastPathComponent.count).max()!)
    func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    func padLeft(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
    print(pad("image", nameWidth) + "  " + pad("size", 10) + padLeft("BRISQUE", 9) + padLeft("PIQE", 9))
    var totals = (brisque: 0.0, piqe: 0.0)
    for url in files {
        let image = try qualityImage(at: url)
        let brisque = try BRISQUE.score(image), piqe = try PIQE.score(image)
        totals.brisque += brisque
        totals.piqe += piqe
        print(pad(url.lastPathComponent, nameWidth) + "  " + pad("\(image.width)×\(image.height)", 10)
              + String(format: "%9.3f%9.3f", brisque, piqe))
    }
    let n = Double(files.count)
    print(pad("mean", nameWidth) + "  " + pad("", 10) + String(format: "%9.3f%9.3f", totals.brisque / n, totals.piqe / n))
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
