import ArgumentParser
import Foundation
import SLKDDistill
import SLKDModels

/// Where a command's network comes from: a BasicSR options file (`--options`, its `network_g`),
/// a preset (`--arch`), optionally with trained weights (`--weights`, an official `.pth` or a
/// `.safetensors` file with the official key names), or bundled trained weights (`--arch
/// demo-teacher`, which need no `--weights`).
///
/// Commands embed it with `@OptionGroup var model: ModelSource` and call ``makeModel(memory:)``.
struct ModelSource: ParsableArguments {
    @Option(help: ArgumentHelp("A BasicSR options file whose network_g section describes the network.", valueName: "file.yml"))
    var options: String?

    @Option(help: ArgumentHelp("A preset network (\(ModelSource.presetNames)) or bundled trained weights (\(BundledWeights.names.joined(separator: ", ")); see slkd weights list).", valueName: "name"))
    var arch: String?

    @Option(help: ArgumentHelp("Trained weights: an official PyTorch checkpoint (.pth; params, params_ema or state_dict) or a .safetensors file with the official key names.", valueName: "file"))
    var weights: String?

    @Flag(help: "Run a freshly initialised network instead of trained weights (for timing; the images are meaningless).")
    var randomWeights = false

    init() {}

    /// A source from values (for commands that take the network from elsewhere, e.g. an options
    /// file they already read).
    init(options: String? = nil, arch: String? = nil, weights: String? = nil) {
        self.options = options
        self.arch = arch
        self.weights = weights
    }

    static var presetNames: String { ModelPreset.allCases.map(\.rawValue).joined(separator: ", ") }

    /// Whether `--arch` names bundled trained weights rather than an untrained preset.
    var isBundled: Bool { arch.map(BundledWeights.names.contains) ?? false }

    /// One line per problem; thrown as ``ToolError`` so that the message is printed without usage.
    func validate() throws {
        if options != nil && arch != nil { throw ToolError("give either --options FILE or --arch NAME, not both") }
        if options == nil && arch == nil { throw ToolError("give the network with --options FILE.yml or --arch NAME (\(Self.presetNames))") }
        if let arch, ModelPreset(rawValue: arch) == nil, !isBundled {
            throw ToolError("--arch: unknown network '\(arch)'; choose one of \(Self.presetNames), \(BundledWeights.names.joined(separator: ", "))")
        }
        if isBundled, weights != nil {
            throw ToolError("--arch \(arch ?? ""): bundled weights are loaded already; drop --weights or use a preset name")
        }
        if weights != nil && randomWeights { throw ToolError("give either --weights FILE or --random-weights, not both") }
        if let weights {
            let ext = URL(fileURLWithPath: weights).pathExtension.lowercased()
            guard ["pth", "pt", "safetensors"].contains(ext) else {
                throw ToolError("--weights: '\(weights)' must be a .pth or .safetensors file")
            }
        }
    }

    /// Refuses to run without trained weights unless `--random-weights` asks for it: a random
    /// network's output looks like a result and is not one.
    func requireWeights(for command: String) throws {
        if isBundled && randomWeights {
            throw ToolError("--arch \(arch ?? ""): bundled weights are trained; --random-weights would discard them")
        }
        if weights == nil && !randomWeights && !isBundled {
            throw ToolError("\(command) needs trained weights: give --weights FILE (.pth or .safetensors), "
                            + "or --random-weights to run an untrained network (for timing only)")
        }
    }

    /// A short name of the network for reports: the preset name or the options file's name.
    var label: String {
        if let arch { return arch }
        return options.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? "model"
    }

    /// Builds the network, loads the weights when given, and puts it in eval mode.
    ///
    /// - Parameter memory: `--max-memory`, the weights file's read budget.
    /// - Throws: ``ToolError`` naming the options or weights file: missing or unreadable files,
    ///   a bad `network_g`, weights that do not fit (``WeightsMismatch``), or weights over the
    ///   read budget.
    func makeModel(memory: MemoryBudget) throws -> any RestorationModel {
        let model: any RestorationModel
        if let options {
            try Self.requireFile(options, what: "options file")
            model = try ToolError.wrap(options) { try NetworkOptions.build(contentsOf: URL(fileURLWithPath: options)) }
        } else if isBundled, let arch {
            model = try ToolError.wrap("--arch \(arch)") { try BundledWeights.named(arch).loadModel() }
        } else {
            guard let arch, let preset = ModelPreset(rawValue: arch) else {
                throw ToolError("--arch: unknown network '\(arch ?? "")'; choose one of \(Self.presetNames)")
            }
            model = try ToolError.wrap("--arch \(arch)") { try preset.build() }
        }
        if let weights { try Self.loadWeights(weights, into: model, network: label, memory: memory) }
        model.eval()
        return model
    }

    /// Loads a `.pth` (BasicSR/Uformer wrappers and `module.` prefixes handled) or `.safetensors`
    /// file, told apart by content, into `model`; keys that do not fit are one line (``WeightsMismatch``).
    /// Every weights file a command reads comes through here, under `--max-memory`.
    static func loadWeights(_ path: String, into model: any RestorationModel, network label: String,
                            memory: MemoryBudget) throws {
        try requireFile(path, what: "weights file")
        let stateDict = try ToolError.wrap(path) {
            try ModelWeights.read(from: URL(fileURLWithPath: path), maximumBytes: memory.maximumBytes)
        }
        do {
            try model.loadStateDictionary(stateDict)
        } catch let error as StateDictionaryError {
            throw ToolError("\(path): \(WeightsMismatch(error, network: label))")
        }
    }

    /// Throws a one-line error when `path` is not an existing regular file.
    static func requireFile(_ path: String, what: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ToolError("\(what) '\(path)' does not exist")
        }
        if isDirectory.boolValue { throw ToolError("\(what) '\(path)' is a folder, not a file") }
    }
}

/// Weights that do not fit the network: the keys the network lacks, the keys the file lacks, and
/// the keys whose shapes differ, each listed briefly (a wrong architecture mismatches hundreds).
struct WeightsMismatch: Error, CustomStringConvertible {
    var network: String
    var missingKeys: [String]
    var unexpectedKeys: [String]
    var shapeMismatches: [StateDictionaryError.ShapeMismatch]

    init(_ error: StateDictionaryError, network: String) {
        self.network = network
        missingKeys = error.missingKeys
        unexpectedKeys = error.unexpectedKeys
        shapeMismatches = error.shapeMismatches
    }

    var description: String {
        var parts: [String] = []
        if !missingKeys.isEmpty { parts.append("\(missingKeys.count) missing keys (\(Self.brief(missingKeys)))") }
        if !unexpectedKeys.isEmpty { parts.append("\(unexpectedKeys.count) unexpected keys (\(Self.brief(unexpectedKeys)))") }
        if !shapeMismatches.isEmpty {
            let shown = shapeMismatches.prefix(3).map { "\($0.key): file \($0.found), network \($0.expected)" }
            let more = shapeMismatches.count > 3 ? ", and \(shapeMismatches.count - 3) more" : ""
            parts.append("\(shapeMismatches.count) keys of another shape (\(shown.joined(separator: "; "))\(more))")
        }
        return "the weights do not fit network '\(network)': " + parts.joined(separator: "; ")
    }

    private static func brief(_ keys: [String]) -> String {
        keys.prefix(3).joined(separator: ", ") + (keys.count > 3 ? ", and \(keys.count - 3) more" : "")
    }
}
