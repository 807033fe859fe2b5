import ArgumentParser
import Foundation
import SLKDModels

/// `slkd convert IN.pth OUT.safetensors`: an official PyTorch checkpoint to safetensors.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an official PyTorch checkpoint (.pth) to safetensors.",
        discussion: """
            Reads the zip .pth format with a restricted unpickler that never executes code, picks the
            weights (BasicSR 'params' or 'params_ema', Uformer 'state_dict', or a plain state dict),
            strips DataParallel 'module.' prefixes, and writes the tensors in the file's key order.
            The output is written atomically.

            Examples:
              slkd convert Restormer_deraining.pth restormer_deraining.safetensors
              slkd convert --entry params_ema net_g_ema.pth net_g_ema.safetensors
            """)

    @Argument(help: "The .pth checkpoint to read.")
    var input: String

    @Argument(help: "The .safetensors file to write.")
    var output: String

    @Option(help: "Which entry holds the weights (params, params_ema, state_dict); default: the first present.")
    var entry: String?

    @OptionGroup var memory: MemoryBudget

    func run() throws {
        let source = URL(fileURLWithPath: input)
        let destination = URL(fileURLWithPath: output)
        guard destination.pathExtension == "safetensors" else {
            throw ValidationError("output '\(output)' must end in .safetensors")
        }
        let selection: StateDictSelection = entry.map { .entry($0) } ?? .automatic
        let stateDict = try ToolError.wrap(input) { 
            try PyTorchCheckpoint.loadStateDict(from: source, selection: selection, maximumBytes: memory.maximumBytes)
        }
        try ToolError.wrap(output) {
            try SafeTensors.write(stateDict.keys.map { ($0, stateDict.tensors[$0]!) }, to: destination)
        }
        let count = stateDict.tensors.values.reduce(0) { $0 + $1.count }
        print("wrote \(stateDict.keys.count) tensors (\(count) values) to \(output)")
    }
}
