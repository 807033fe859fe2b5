import ArgumentParser
import Foundation
import SLKDDistill
import SLKDModels

/// `slkd eval`: PSNR and SSIM of a network on a paired test folder, as CSV and JSON.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "PSNR and SSIM of a network on a paired test folder (CSV and JSON report).",
        discussion: """
            The folder holds degraded and clean PNGs under the same file names: by default in input/ \
            and target/ (Rain100H, Rain100L, Test1200), or as a --layout names them \
            (\(EvalCommand.layoutNames)), or in the sub-folders given by --input-dir and --target-dir. \
            Every file needs a partner.

            Metrics follow BasicSR: both images are rounded to 8 bits, --crop-border pixels are \
            removed from each side, and with --y-channel the Y channel of YCbCr (BT.601) is compared \
            (as the Restormer and DRSformer deraining papers report); otherwise RGB. An exact \
            restoration scores PSNR inf.

            The per-image scores and their mean are written to PREFIX.csv and PREFIX.json, or to \
            report.csv and report.json when --output is a folder (an existing one, or a path ending \
            in '/'); the mean is printed.

            Trained weights are required (--weights); --random-weights evaluates a freshly \
            initialised network instead, for timing only.

            Examples:
              slkd eval --options Deraining_Restormer.yml --weights deraining.pth \\
                  --data Rain100H --y-channel --output results/rain100h
              slkd eval --arch res-sl --weights res-sl.safetensors --data GoPro/test \\
                  --layout gopro --tile 256 --output results/
              slkd eval --arch drs-sl --weights drs-sl.pth --data mine \\
                  --input-dir rainy --target-dir clean --output mine-report
            """)

    @OptionGroup(title: "Network")
    var model: ModelSource

    @Option(help: ArgumentHelp("The test folder.", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("A folder layout: \(EvalCommand.layoutNames).", valueName: "name"))
    var layout: String?

    @Option(help: ArgumentHelp("The degraded images' sub-folder (default input).", valueName: "name"))
    var inputDir: String?

    @Option(help: ArgumentHelp("The clean images' sub-folder (default target).", valueName: "name"))
    var targetDir: String?

    @Option(help: ArgumentHelp("Pixels removed from each side before scoring.", valueName: "n"))
    var cropBorder: Int = 0

    @Flag(help: "Score the Y channel of YCbCr instead of RGB.")
    var yChannel = false

    @Option(help: ArgumentHelp("Restore in tiles of this side (a multiple of the network's size multiple).", valueName: "n"))
    var tile: Int?

    @Option(help: ArgumentHelp("Pixels shared by neighbouring tiles (default: 32, or half the tile when smaller).", valueName: "m"))
    var tileOverlap: Int?

    @Option(help: ArgumentHelp("How overlapping tiles make one image: average (Restormer's demo.py) or centre (each pixel from the tile whose middle it is in; equals whole-image output for a network that sees only a neighbourhood narrower than half the overlap).", valueName: "blend"))
    var tileBlend: Tiling.Blend = .average

    @OptionGroup var budget: PixelBudget

    @OptionGroup var memory: MemoryBudget

    @Option(help: ArgumentHelp("A name for the test set in the report (default: the folder's name).", valueName: "name"))
    var name: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The report's path without extension, or a folder.", valueName: "prefix"))
    var output: String

    @Option(help: ArgumentHelp("Also write each restored image into this folder, as <name>.png.", valueName: "dir"))
    var saveImages: String?

    @OptionGroup var threads: ThreadOptions

    static let layouts = PairedFolderLayout.presets
    static var layoutNames: String { layouts.map(\.name).joined(separator: ", ") }

    func validate() throws {
        try model.requireWeights(for: "slkd eval")
        if layout != nil && (inputDir != nil || targetDir != nil) {
            throw ToolError("give either --layout or --input-dir/--target-dir, not both")
        }
        if let layout, !Self.layouts.contains(where: { $0.name == layout.lowercased() }) {
            throw ToolError("--layout: unknown layout '\(layout)'; choose one of \(Self.layoutNames)")
        }
        if cropBorder < 0 { throw ToolError("--crop-border must not be negative, got \(cropBorder)") }
        if let tile, tile <= 0 { throw ToolError("--tile must be positive, got \(tile)") }
        if let tileOverlap {
            guard let tile else { throw ToolError("--tile-overlap needs --tile") }
            if tileOverlap < 0 || tileOverlap >= tile {
                throw ToolError("--tile-overlap \(tileOverlap) must be in 0..<\(tile) (the tile size)")
            }
        }
        if tileBlend != .average && tile == nil { throw ToolError("--tile-blend needs --tile") }
    }

    var folderLayout: PairedFolderLayout {
        if let layout, let preset = Self.layouts.first(where: { $0.name == layout.lowercased() }) { return preset.layout }
        return PairedFolderLayout(degradedFolder: inputDir ?? "input", cleanFolder: targetDir ?? "target")
    }

    /// The CSV and JSON paths: `PREFIX.csv`/`PREFIX.json`, or `report.*` inside a folder.
    var reportURLs: (csv: URL, json: URL) {
        var isDirectory: ObjCBool = false
        let isFolder = output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue)
        var prefix = URL(fileURLWithPath: output)
        if isFolder {
            prefix = prefix.appendingPathComponent("report")
        } else if ["csv", "json"].contains(prefix.pathExtension.lowercased()) {
            prefix = prefix.deletingPathExtension()
        }
        return (prefix.appendingPathExtension("csv"), prefix.appendingPathExtension("json"))
    }

    func run() throws {
        let root = URL(fileURLWithPath: data)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ToolError("--data: folder '\(data)' does not exist")
        }
        let network = try model.makeModel(memory: memory)
        let tiling = tile.map { Tiling(tile: $0, overlap: tileOverlap ?? Swift.min(32, $0 / 2), blend: tileBlend) }
        if let tiling, tiling.tile % network.sizeMultiple != 0 {
            throw ToolError("--tile \(tiling.tile) must be a multiple of \(network.sizeMultiple) for this network")
        }
        var dataset = try naming(data) {
            try FolderPairedDataset(root: root, layout: folderLayout, channels: RestoreCommand.channels(for: network))
        }
        let bytesPerPixel = RestoreCommand.bytesPerPixel(channels: network.inputChannels)
        dataset.maximumPixels = memory.maximumPixels(budget, bytesPerPixel: bytesPerPixel)
        let options = EvaluationOptions(testYChannel: yChannel, cropBorder: cropBorder)
        let setName = name ?? root.standardizedFileURL.lastPathComponent
        let progress = ProgressBar(total: dataset.count)
        defer { progress.finish() }  // clears the bar before any error message
        let report = try naming(data, imagesUnder: (dataset.maximumPixels, bytesPerPixel)) {
            try TestSetEvaluation.run(dataset, name: setName, options: options,
                                      restoredImagesFolder: saveImages.map { URL(fileURLWithPath: $0) },
                                      progress: { progress.advance(label: $0.image) }) { image in
                try restore(image: image, with: network, tiling: tiling)
            }
        }
        progress.finish()
        let (csv, json) = reportURLs
        try ToolError.wrap(csv.deletingLastPathComponent().path) {
            try FileManager.default.createDirectory(at: csv.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        try ToolError.wrap(csv.path) { try report.writeCSV(to: csv) }
        try ToolError.wrap(json.path) { try report.writeJSON(to: json) }
        print(Self.table(report, network: model.label))
        print("wrote \(csv.path) and \(json.path)" + (saveImages.map { "; restored images in \($0)" } ?? ""))
    }

    /// Runs `body`, prefixing a dataset or evaluation error with the test folder unless the message
    /// already names a file inside it.
    /// An image refused under `imagesUnder`, a pixel limit that `--max-memory` lowered, gets the
    /// budget named.
    private func naming<R>(_ folder: String, imagesUnder limit: (pixels: Int, bytesPerPixel: Int)? = nil,
                           _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch {
            var message = String(describing: error)
            if let limit, let maxMemory = memory.maxMemory, limit.pixels < budget.maxPixels,
               message.hasSuffix("over the limit of \(limit.pixels)") {
                message += " (--max-memory \(maxMemory) bytes at \(limit.bytesPerPixel) bytes a pixel)"
            }
            let named = message.contains(folder.hasSuffix("/") ? folder : folder + "/")
            throw ToolError(named ? message : "--data \(folder): \(message)")
        }
    }

    /// The mean scores as a small table.
    static func table(_ report: EvaluationReport, network: String) -> String {
        let channel = report.options.testYChannel ? "Y" : "RGB"
        let psnr = report.mean.psnr.isFinite ? String(format: "%.4f", report.mean.psnr) : "\(report.mean.psnr)"
        let rows = [
            ["network", "test set", "images", "channel", "crop", "PSNR (dB)", "SSIM"],
            [network, report.dataset ?? "-", "\(report.count)", channel, "\(report.options.cropBorder)", psnr,
             String(format: "%.4f", report.mean.ssim)],
        ]
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            let line = zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            return String(line.reversed().drop { $0 == " " }.reversed())
        }.joined(separator: "\n")
    }
}
