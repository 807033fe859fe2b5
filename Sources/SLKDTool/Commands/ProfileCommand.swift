import ArgumentParser
import Foundation
import SLKDDistill
import SLKDModels

/// `slkd profile`: parameters, MACs (fvcore convention), latency and peak memory, per stage.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Parameters, MACs (fvcore convention), latency and peak memory of a network, per stage.",
        discussion: """
            NAME is one of: \(ProfileCommand.names), or bundled trained weights (\(BundledWeights.names.joined(separator: ", "))).
            MACs count one multiply-add once, as fvcore does (the paper's Table I uses 1×3×512×512).

            Examples:
              slkd profile res-sl
              slkd profile restormer --size 512 512 --runs 1 --json
              slkd profile --options Options/Deraining_Restormer.yml
            """)

    @Argument(help: "A preset name or bundled weights' name (the same as --arch NAME).")
    var name: String?

    @Option(help: ArgumentHelp("The same as NAME, as restore and eval spell it.", valueName: "name"))
    var arch: String?

    static var names: String { ModelPreset.allCases.map(\.rawValue).joined(separator: ", ") }

    /// NAME or --arch.
    var chosenName: String? { name ?? arch }

    @Option(help: "A BasicSR options file whose network_g section describes the network.")
    var options: String?

    @Option(parsing: .upToNextOption, help: "Input height and width (default 128 128).")
    var size: [Int] = [128, 128]

    @Option(help: "Timed forward passes (median reported).")
    var runs: Int = 3

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if name != nil && arch != nil { throw ValidationError("give the network once: NAME or --arch NAME") }
        if (chosenName == nil) == (options == nil) { throw ValidationError("give either a preset NAME or --options FILE") }
        if let name = chosenName, ModelPreset(rawValue: name) == nil, !BundledWeights.names.contains(name) {
            throw ValidationError("unknown model '\(name)'; choose one of \(Self.names), \(BundledWeights.names.joined(separator: ", "))")
        }
        if size.count != 2 || size.contains(where: { $0 <= 0 }) { throw ValidationError("--size takes two positive numbers: H W") }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let model: any RestorationModel
        let label: String
        if let name = chosenName {
            model = try ToolError.wrap(name) {
                if let preset = ModelPreset(rawValue: name) { return try preset.build() }
                return try BundledWeights.named(name).loadModel()
            }
            label = name
        } else {
            model = try ToolError.wrap(options!) { try NetworkOptions.build(contentsOf: URL(fileURLWithPath: options!)) }
            label = options!
        }
        let profile = try ToolError.wrap("--size") {
            try ModelProfile.measure(model, name: label, input: [1, model.inputChannels, size[0], size[1]], runs: runs, warmup: 1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(profile), as: UTF8.self))
        } else {
            print(profile.table)
            // What the latency ran on: a latency read without it is easy to misjudge on a new CPU.
            print("threads \(Parallel.threadCount), OpenBLAS kernels \(BLASKernels.summary), "
                  + "SLKD kernels \(SIMDPath.active)")
        }
    }
}
