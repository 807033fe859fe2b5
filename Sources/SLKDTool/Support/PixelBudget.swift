import ArgumentParser
import SLKDTensor

/// `--max-pixels`: the largest image a command decodes. Memory grows with the pixels (a few
/// float32 copies of them for `restore`, more for `iqa`'s float64 metrics), so the default keeps
/// the peak of every image command below about 2 GB; larger images are refused, naming their size,
/// before any pixel memory is allocated.
struct PixelBudget: ParsableArguments {
    /// 2²⁴ pixels (4096 × 4096).
    static let defaultPixels = 1 << 24

    @Option(help: ArgumentHelp("Refuse images with more pixels than this (default \(PixelBudget.defaultPixels), 4096×4096; at most \(ImageIO.maximumPixelCount)).", valueName: "n"))
    var maxPixels: Int = PixelBudget.defaultPixels

    func validate() throws {
        guard (1...ImageIO.maximumPixelCount).contains(maxPixels) else {
            throw ToolError("--max-pixels must be in 1...\(ImageIO.maximumPixelCount), got \(maxPixels)")
        }
    }
}
