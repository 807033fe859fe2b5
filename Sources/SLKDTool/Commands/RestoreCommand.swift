import ArgumentParser
import Foundation
import SLKDModels

/// `slkd restore`: restore PNG and JPEG images with a network, whole or tile by tile.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore PNG and JPEG images (derain, deblur, denoise…) with a network.",
        discussion: """
            INPUT is a PNG or JPEG file (told apart by content) or a folder (every *.png, *.jpg and \
            *.jpeg in it, sorted). Each restored image is written as an 8-bit PNG named after the \
            input (photo.jpg → photo.png, as the official test scripts do) in the output folder \
            (created if needed). With \
            an output path ending in .safetensors and a single input, the float image is written \
            instead (key "image", 1×C×H×W float32, values unclamped).

            Images of any size are accepted: they are reflect-padded to the network's size multiple \
            and cropped back (Restormer's demo.py); Uformer pads to a square. Networks with one input \
            channel take gray images (colour files are converted to luma). With --tile, large images \
            are restored tile by tile in bounded memory; overlapping tiles are averaged (or, with \
            --tile-blend centre, each pixel comes from one tile). Tiling is off by default: these \
            networks' attention sees the whole input, so tiled output differs from whole-image output.

            Trained weights are required (--weights); --random-weights runs a freshly initialised \
            network instead, for timing only. Images over --max-pixels are refused, naming their size.

            Each input is decoded once. Outputs are staged beside their destinations and moved into \
            place only when every input has been restored, so a corrupt input stops the command with \
            nothing written.

            Examples:
              slkd restore --options Deraining_Restormer.yml --weights deraining.pth \\
                  rainy.png --output restored/
              slkd restore --arch res-sl --weights res-sl.safetensors test/input/ \\
                  --output results/ --tile 256 --tile-overlap 32
              slkd restore --arch restormer --weights net_g.pth photo.png \\
                  --output photo.safetensors
            """)

    @OptionGroup(title: "Network")
    var model: ModelSource

    @Argument(help: ArgumentHelp("PNG or JPEG files, or folders of them.", valueName: "input"))
    var inputs: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("The output folder, or a .safetensors file for a single input.", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("Restore in tiles of this side (a multiple of the network's size multiple, 8 for Restormer and DRSformer).", valueName: "n"))
    var tile: Int?

    @Option(help: ArgumentHelp("Pixels shared by neighbouring tiles (default: 32, or half the tile when smaller).", valueName: "m"))
    var tileOverlap: Int?

    @Option(help: ArgumentHelp("How overlapping tiles make one image: average (Restormer's demo.py) or centre (each pixel from the tile whose middle it is in; equals whole-image output for a network that sees only a neighbourhood narrower than half the overlap).", valueName: "blend"))
    var tileBlend: Tiling.Blend = .average

    @OptionGroup var budget: PixelBudget

    @OptionGroup var memory: MemoryBudget

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        try model.requireWeights(for: "slkd restore")
        if inputs.isEmpty { throw ToolError("give at least one input image file or folder") }
        if let tile, tile <= 0 { throw ToolError("--tile must be positive, got \(tile)") }
        if let tileOverlap {
            guard let tile else { throw ToolError("--tile-overlap needs --tile") }
            if tileOverlap < 0 || tileOverlap >= tile {
                throw ToolError("--tile-overlap \(tileOverlap) must be in 0..<\(tile) (the tile size)")
            }
        }
        if tileBlend != .average && tile == nil { throw ToolError("--tile-blend needs --tile") }
    }

    /// The tiling asked for, if any.
    var tiling: Tiling? {
        tile.map { Tiling(tile: $0, overlap: tileOverlap ?? Swift.min(32, $0 / 2), blend: tileBlend) }
    }

    func run() throws {
        let files = try Self.expandInputs(inputs)
        let outputURL = URL(fileURLWithPath: output)
        let tensorOutput = outputURL.pathExtension.lowercased() == "safetensors"
        if tensorOutput && files.count != 1 {
            throw ToolError("--output \(output): a .safetensors output holds one image, but \(files.count) inputs were given")
        }
        let destinations = tensorOutput ? [outputURL]
            : files.map { outputURL.appendingPathComponent($0.deletingPathExtension().lastPathComponent + ".png") }
        try Self.checkDestinations(files, destinations)

        let network = try model.makeModel(memory: memory)
        if let tiling, tiling.tile % network.sizeMultiple != 0 {
            throw ToolError("--tile \(tiling.tile) must be a multiple of \(network.sizeMultiple) for this network")
        }
        let channels = Self.channels(for: network)
        let bytesPerPixel = Self.bytesPerPixel(channels: network.inputChannels)
        let folder = tensorOutput ? outputURL.deletingLastPathComponent() : outputURL
        try ToolError.wrap(folder.path) { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

        // Each input is decoded once; its result waits in a staged file until all have succeeded.
        var staging = OutputStaging()
        defer { staging.discard() }
        let progress = ProgressBar(total: files.count)
        defer { progress.finish() }  // clears the bar before any error message
        for (file, destination) in zip(files, destinations) {
            let image = try ToolError.wrap(file.path) {
                try memory.decoding(budget, bytesPerPixel: bytesPerPixel) { () throws(ImageIOError) in
                    try Tensor.readImage(at: file, channels: channels,
                                         maximumPixels: memory.maximumPixels(budget, bytesPerPixel: bytesPerPixel))
                }
            }
            let restored = try ToolError.wrap(file.path) { try restore(image: image, with: network, tiling: tiling) }
            let staged = staging.stage(destination)
            try ToolError.wrap(destination.path) {
                if tensorOutput {
                    let batched = restored.unsqueezed(axis: 0).cast(to: .float32).contiguous()
                    try SafeTensors.write([("image", batched)], metadata: ["input": file.lastPathComponent], to: staged)
                } else {
                    try restored.writePNG(to: staged)
                }
            }
            progress.advance(label: file.lastPathComponent)
        }
        try staging.commit()
        progress.finish()
        print("restored \(files.count) image\(files.count == 1 ? "" : "s") into \(output)")
    }

    /// What `--max-memory` allows an image a pixel: four float32 copies of its channels (the
    /// decoded input, the restored output, and room for one more while the result is encoded).
    /// Whole-image inference needs far more (the network's activations); `--tile` bounds those
    /// by the tile, whatever the image's size.
    static func bytesPerPixel(channels: Int) -> Int { 4 * 4 * Swift.max(channels, 1) }

    /// The channels the network's images are decoded to.
    static func channels(for network: any RestorationModel) -> ImageIO.Channels {
        switch network.inputChannels {
        case 1: .gray
        case 3: .rgb
        default: .storedWithAlpha
        }
    }

    /// Image files named on the command line, with folders replaced by their PNG and JPEG files
    /// (sorted, hidden files skipped).
    static func expandInputs(_ inputs: [String]) throws -> [URL] {
        var files: [URL] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw ToolError("input '\(input)' does not exist")
            }
            guard isDirectory.boolValue else {
                files.append(URL(fileURLWithPath: input))
                continue
            }
            let names = try ToolError.wrap(input) { try FileManager.default.contentsOfDirectory(atPath: input) }
            let images = names.filter { !$0.hasPrefix(".") && ImageIO.ImageFormat.isImageFileName($0) }.sorted()
                .map { URL(fileURLWithPath: input).appendingPathComponent($0) }
                .filter { !$0.hasDirectoryPath && !isFolder($0) }
            if images.isEmpty { throw ToolError("input folder '\(input)' holds no PNG or JPEG files") }
            files += images
        }
        return files
    }

    /// Refuses outputs that would overwrite an input or each other.
    static func checkDestinations(_ files: [URL], _ destinations: [URL]) throws {
        let inputs = Set(files.map { $0.standardizedFileURL.resolvingSymlinksInPath().path })
        var seen: [String: URL] = [:]
        for (file, destination) in zip(files, destinations) {
            let path = destination.standardizedFileURL.resolvingSymlinksInPath().path
            if inputs.contains(path) { throw ToolError("refusing to overwrite input '\(file.path)': choose another --output") }
            if let other = seen[path] {
                throw ToolError("inputs '\(other.path)' and '\(file.path)' would both be written to '\(destination.path)'")
            }
            seen[path] = file
        }
    }

    private static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

/// `--tile-blend average|centre` (the raw values of ``Tiling/Blend``).
extension Tiling.Blend: ExpressibleByArgument {}
