import ArgumentParser
import Foundation
import SLKDModels

/// `slkd restore`: restore PNG images with a network, whole or tile by tile.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore PNG images (derain, deblur, denoise…) with a network.",
        discussion: """
            INPUT is a PNG file or a folder (every *.png in it, sorted). Each restored image is written \
            as an 8-bit PNG under the input's file name in the output folder (created if needed). With \
            an output path ending in .safetensors and a single input, the float image is written \
            instead (key "image", 1×C×H×W float32, values unclamped).

            Images of any size are accepted: they are reflect-padded to the network's size multiple \
            and cropped back (Restormer's demo.py); Uformer pads to a square. Networks with one input \
            channel take gray images (colour files are converted to luma). With --tile, large images \
            are restored tile by tile in bounded memory; overlapping tiles are averaged.

            Every input is decoded before anything is written, and files are written atomically, so \
            a corrupt input stops the command with nothing written.

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

    @Argument(help: ArgumentHelp("PNG files or folders of PNG files.", valueName: "input"))
    var inputs: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("The output folder, or a .safetensors file for a single input.", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("Restore in tiles of this side (a multiple of the network's size multiple, 8 for Restormer and DRSformer).", valueName: "n"))
    var tile: Int?

    @Option(help: ArgumentHelp("Pixels shared by neighbouring tiles (default: 32, or half the tile when smaller).", valueName: "m"))
    var tileOverlap: Int?

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if inputs.isEmpty { throw ToolError("give at least one input PNG file or folder") }
        if let tile, tile <= 0 { throw ToolError("--tile must be positive, got \(tile)") }
        if let tileOverlap {
            guard let tile else { throw ToolError("--tile-overlap needs --tile") }
            if tileOverlap < 0 || tileOverlap >= tile {
                throw ToolError("--tile-overlap \(tileOverlap) must be in 0..<\(tile) (the tile size)")
            }
        }
    }

    /// The tiling asked for, if any.
    var tiling: Tiling? {
        tile.map { Tiling(tile: $0, overlap: tileOverlap ?? Swift.min(32, $0 / 2)) }
    }

    func run() throws {
        let files = try Self.expandInputs(inputs)
        let outputURL = URL(fileURLWithPath: output)
        let tensorOutput = outputURL.pathExtension.lowercased() == "safetensors"
        if tensorOutput && files.count != 1 {
            throw ToolError("--output \(output): a .safetensors output holds one image, but \(files.count) inputs were given")
        }
        let destinations = tensorOutput ? [outputURL] : files.map { outputURL.appendingPathComponent($0.lastPathComponent) }
        try Self.checkDestinations(files, destinations)

        let network = try model.makeModel()
        if let tiling, tiling.tile % network.sizeMultiple != 0 {
            throw ToolError("--tile \(tiling.tile) must be a multiple of \(network.sizeMultiple) for this network")
        }
        let channels = Self.channels(for: network)
        // Decode every input first: a corrupt file fails the command before anything is written.
        for file in files {
            _ = try ToolError.wrap(file.path) { try ImageIO.readPNG(at: file, channels: channels) }
        }
        let folder = tensorOutput ? outputURL.deletingLastPathComponent() : outputURL
        try ToolError.wrap(folder.path) { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

        let progress = ProgressBar(total: files.count)
        defer { progress.finish() }  // clears the bar before any error message
        for (file, destination) in zip(files, destinations) {
            let image = try ToolError.wrap(file.path) { try Tensor.readPNG(at: file, channels: channels) }
            let restored = try ToolError.wrap(file.path) { try restore(image: image, with: network, tiling: tiling) }
            try ToolError.wrap(destination.path) {
                if tensorOutput {
                    let batched = restored.unsqueezed(axis: 0).cast(to: .float32).contiguous()
                    try SafeTensors.write([("image", batched)], metadata: ["input": file.lastPathComponent], to: destination)
                } else {
                    try restored.writePNG(to: destination)
                }
            }
            progress.advance(label: file.lastPathComponent)
        }
        progress.finish()
        print("restored \(files.count) image\(files.count == 1 ? "" : "s") into \(output)")
    }

    /// The channels the network's images are decoded to.
    static func channels(for network: any RestorationModel) -> ImageIO.Channels {
        switch network.inputChannels {
        case 1: .gray
        case 3: .rgb
        default: .storedWithAlpha
        }
    }

    /// PNG files named on the command line, with folders replaced by their `*.png` files (sorted,
    /// hidden files skipped).
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
            let pngs = names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") }.sorted()
                .map { URL(fileURLWithPath: input).appendingPathComponent($0) }
                .filter { !$0.hasDirectoryPath && !isFolder($0) }
            if pngs.isEmpty { throw ToolError("input folder '\(input)' holds no PNG files") }
            files += pngs
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
