import ArgumentParser
import Foundation
import SLKDDistill

/// `slkd weights list`: the trained weights that ship with SLKD, usable as `--arch NAME`.
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "The trained weights bundled with SLKD.",
        subcommands: [List.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the bundled weights: use a name as --arch NAME in restore, eval and profile, or as network_teacher: {type: bundled, name: NAME} in options.")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let entries = try ToolError.wrap("bundled weights") { try BundledWeights.all() }
            let rows = try entries.map { entry in
                let model = try ToolError.wrap(entry.url.path) { try entry.loadModel() }
                return (entry, model.parameterCount)
            }
            if json {
                let objects = rows.map { entry, parameters in
                    ["name": entry.name, "parameters": parameters, "summary": entry.summary, "file": entry.url.path] as [String: Any]
                }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            for (entry, parameters) in rows {
                print("\(entry.name)  \(parameters) parameters  \(entry.summary)")
            }
        }
    }
}
