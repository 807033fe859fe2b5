import ArgumentParser
import Foundation
import SLKDModels

/// `slkd profile`: parameters, MACs (fvcore convention), latency and peak memory, per stage.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Parameters, MACs (fvcore convention), latency and peak memory of a network, per stage.",
        discussion: """
            NAME is one of: \(ModelPreset.allCases.map(\.rawValue).joined(separator: ", ")).
            MACs count one multiply-add once, as fvcore does (the paper's Table I uses 1×3×512×512).

            Examples:
              slkd profile res-sl
              slkd profile restormer --size 512 512 --runs 1 --json
              slkd profile --options Options/Deraining_Restormer.yml
            """)

    @Argument(help: "A preset name.")
    var name: String?

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
        if (name == nil) == (options == nil) { throw ValidationError("give either a preset NAME or --options FILE") }
        if let name, ModelPreset(rawValue: name) == nil {
            throw ValidationError("unknown model '\(name)'; choose one of \(ModelPreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if size.count != 2 || size.contains(where: { $0 <= 0 }) { throw ValidationError("--size takes two positive numbers: H W") }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let model: any RestorationModel
        let label: String
        if let name {
            model = try ModelPreset(rawValue: name)!.build()
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
        }
    }
}
