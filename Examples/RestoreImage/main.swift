// Restores a PNG with an SLKD model preset and writes the result as a PNG.
//
//   swift run -c release --package-path Examples RestoreImage INPUT.png OUTPUT.png [--preset res-sl] [--weights FILE] [--tile 256]
//
// Without --weights the network keeps its random initialisation: the output shows the pipeline
// working, not a restoration. Weights are a .safetensors file (`slkd convert` writes one from an
// official .pth) or the official .pth checkpoint itself.
import Foundation
import SLKDModels

struct UsageError: Error, CustomStringConvertible { var description: String }

enum Usage {
    static let text = """
        usage: RestoreImage INPUT.png OUTPUT.png [--preset NAME] [--weights FILE] [--tile N]
          --preset   one of \(ModelPreset.allCases.map(\.rawValue).joined(separator: ", ")) (default res-sl)
          --weights  a .safetensors or official PyTorch .pth file with the preset's weights
          --tile     restore in overlapping N×N tiles (N a multiple of the model's size multiple)
        """
}

/// Splits the arguments into positional ones and `--name value` options.
func parse(_ arguments: [String]) throws -> (positional: [String], options: [String: String]) {
    var positional: [String] = [], options: [String: String] = [:]
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        if argument == "-h" || argument == "--help" { throw UsageError(description: Usage.text) }
        if argument.hasPrefix("--") {
            let name = String(argument.dropFirst(2))
            guard ["preset", "weights", "tile"].contains(name) else { throw UsageError(description: "unknown option \(argument)\n\(Usage.text)") }
            guard let value = rest.popFirst() else { throw UsageError(description: "\(argument) needs a value") }
            options[name] = value
        } else {
            positional.append(argument)
        }
    }
    return (positional, options)
}

func main() throws {
    let (positional, options) = try parse(Array(CommandLine.arguments.dropFirst()))
    guard positional.count == 2 else { throw UsageError(description: Usage.text) }
    let input = URL(fileURLWithPath: positional[0]), output = URL(fileURLWithPath: positional[1])

    let presetName = options["preset"] ?? ModelPreset.resSL.rawValue
    guard let preset = ModelPreset(rawValue: presetName) else {
        throw UsageError(description: "unknown preset '\(presetName)'; choose one of \(ModelPreset.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let model = try preset.build(seed: 0)
    if let weights = options["weights"] {
        // .pth or .safetensors, told apart by the file's first bytes; keys are the official ones.
        try model.loadStateDictionary(try ModelWeights.read(from: URL(fileURLWithPath: weights)))
        print("loaded \(weights)")
    } else {
        print("no --weights: \(preset.rawValue) keeps its random initialisation")
    }
    model.eval()

    let tiling = try options["tile"].map { text -> Tiling in
        guard let side = Int(text), side > 0 else { throw UsageError(description: "--tile needs a positive integer, got '\(text)'") }
        return Tiling(tile: side, overlap: min(32, side / 4))
    }

    let image = try Tensor.readPNG(at: input, channels: .rgb)    // 3×H×W in [0, 1]
    let clock = ContinuousClock()
    var restored = image
    let elapsed = try clock.measure { restored = try restore(image: image, with: model, tiling: tiling) }
    try restored.clamp(min: 0, max: 1).writePNG(to: output)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    print("\(preset.rawValue): \(input.lastPathComponent) \(image.shape[2])×\(image.shape[1]) → \(output.path) in "
          + String(format: "%.2f s", seconds))
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
