import Foundation
import Yams

/// The paper's teachers and students (Table I), by the names the `slkd` tool uses.
public enum ModelPreset: String, CaseIterable, Sendable {
    case restormer = "restormer"
    case resSL = "res-sl"
    case uformerB = "uformer-b"
    case uforSL = "ufor-sl"
    case drsformer = "drsformer"
    case drsSL = "drs-sl"

    /// A freshly initialised network of this preset.
    public func build(seed: UInt64 = 0) throws -> any RestorationModel {
        var generator = RandomGenerator(seed: seed)
        switch self {
        case .restormer: return Restormer(.restormer, using: &generator)
        case .resSL: return Restormer(.resSL, using: &generator)
        case .uformerB: return try Uformer(.uformerB, using: &generator)
        case .uforSL: return try Uformer(.uforSL, using: &generator)
        case .drsformer: return DRSformer(.drsformer, using: &generator)
        case .drsSL: return DRSformer(.drsSL, using: &generator)
        }
    }
}

/// A network described by a BasicSR options file's `network_g` section.
public enum NetworkOptions {
    /// Errors in an options file, naming what is wrong.
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// Builds the network of a BasicSR-style YAML options text (`network_g: {type: Restormer, …}`),
    /// with the official constructor argument names.
    ///
    /// - Parameters:
    ///   - yaml: the options text.
    ///   - section: the top-level key describing the network (`network_g`; SLKD's
    ///     distillation options also use `network_teacher` and `network_teacher_b`).
    ///   - seed: seeds the initialisation of the weights (before any are loaded).
    public static func build(yaml: String, section: String = "network_g", seed: UInt64 = 0) throws -> any RestorationModel {
        let parsed: Any?
        do { parsed = try BoundedYAML.load(yaml, file: "options") } catch { throw Error(description: error.message) }
        guard let root = parsed as? [String: Any], let network = root[section] as? [String: Any] else {
            throw Error(description: "the options have no '\(section)' section")
        }
        return try build(network: network, section: section, seed: seed)
    }

    /// Builds the network of one parsed options section (`{type: Restormer, dim: 48, …}`), after
    /// ``validate(network:section:)``.
    public static func build(network: [String: Any], section: String = "network_g", seed: UInt64 = 0) throws -> any RestorationModel {
        var generator = RandomGenerator(seed: seed)
        switch try validate(network: network, section: section) {
        case .restormer(let c): return Restormer(c, using: &generator)
        case .uformer(let c): return try Uformer(c, using: &generator)
        case .drsformer(let c): return DRSformer(c, using: &generator)
        }
    }

    /// A validated network description: what ``build(network:section:seed:)`` constructs.
    public enum Configuration: Sendable, Hashable {
        case restormer(Restormer.Configuration)
        case uformer(Uformer.Configuration)
        case drsformer(DRSformer.Configuration)

        /// About how many parameters the network has.
        public var estimatedParameterCount: Double {
            switch self {
            case .restormer(let c): c.estimatedParameterCount
            case .uformer(let c): c.estimatedParameterCount
            case .drsformer(let c): c.estimatedParameterCount
            }
        }

        /// Image channels in and out.
        public var channels: (input: Int, output: Int) {
            switch self {
            case .restormer(let c): (c.inputChannels, c.outputChannels)
            case .uformer(let c): (c.ddIn, c.inChans)
            case .drsformer(let c): (c.inputChannels, c.outputChannels)
            }
        }

        /// The side multiple the built network's ``RestorationModel/sizeMultiple`` will have.
        public var sizeMultiple: Int {
            switch self {
            case .restormer, .drsformer: 8
            case .uformer(let c): c.winSize * 16
            }
        }

        /// Channels of the first level (`dim` or `embed_dim`): full-resolution feature maps have this many.
        public var width: Int {
            switch self {
            case .restormer(let c): c.dim
            case .uformer(let c): c.embedDim
            case .drsformer(let c): c.dim
            }
        }
    }

    /// Decodes and checks one `network_g`-style section without building it: every value is in
    /// range (``ConfigurationLimits``) and fits the architecture, so that building cannot trap.
    ///
    /// - Throws: ``Error`` whose message names the dotted key (`network_g.dim`) and the allowed range.
    public static func validate(network: [String: Any], section: String = "network_g") throws(Error) -> Configuration {
        guard let type = network["type"] as? String else { throw Error(description: "'\(section).type' is missing (Restormer, Uformer or DRSformer)") }
        // Yams decodes inf and nan into Double fields without complaint, so non-finite numbers are
        // refused here for every key.
        // Whole floats (`dim: 1e6`) become integers, so that their range is what gets reported.
        var normalized = network
        for (key, value) in network.sorted(by: { $0.key < $1.key }) {
            let numbers = (value as? [Any] ?? [value]).compactMap { $0 as? Double ?? ($0 as? String).flatMap { Double($0) } }
            if let bad = numbers.first(where: { !$0.isFinite }) {
                throw Error(description: "'\(section).\(key)' must be a finite number, got \(bad)")
            }
            func whole(_ v: Any) -> Any {
                // YAML 1.1 reads `1e6` (no dot, unsigned exponent) as a string; take it as the number it means.
                let number = v as? Double ?? (v as? String).flatMap { Double($0) }
                guard let d = number else { return v }
                guard d.rounded() == d, abs(d) < 9e15 else { return d }
                return Int(d)
            }
            normalized[key] = (value as? [Any]).map { $0.map(whole) } ?? whole(value)
        }
        let text: String
        do { text = try Yams.dump(object: normalized) } catch { throw Error(description: "'\(section)' cannot be read: \(error)") }
        let decoder = YAMLDecoder()
        do {
            switch type {
            case "Restormer":
                let c = try decoder.decode(Restormer.Configuration.self, from: text)
                try c.validate()
                return .restormer(c)
            case "Uformer":
                let c = try decoder.decode(Uformer.Configuration.self, from: text)
                try c.validate()
                return .uformer(c)
            case "DRSformer":
                let c = try decoder.decode(DRSformer.Configuration.self, from: text)
                try c.validate()
                return .drsformer(c)
            default:
                throw Error(description: "'\(section).type' is '\(type)', not one of Restormer, Uformer, DRSformer")
            }
        } catch let error as Error {
            throw error
        } catch let error as RestormerConfigurationError {
            throw Error(description: "\(section).\(error.message)")
        } catch let error as UformerConfigurationError {
            throw Error(description: "\(section).\(error.message)")
        } catch let error as DRSformerConfigurationError {
            throw Error(description: "\(section).\(error.message)")
        } catch let error as DecodingError {
            throw Error(description: describe(error, section: section))
        } catch {
            throw Error(description: "'\(section)': \(error)")
        }
    }

    /// A decoding error as one line naming the dotted key.
    private static func describe(_ error: DecodingError, section: String) -> String {
        func key(_ path: [any CodingKey]) -> String {
            ([section] + path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }).joined()
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "'\(key(context.codingPath))' should be \(type == Int.self || type == [Int].self ? "an integer" : "a \(type)"): \(context.debugDescription)"
        case .valueNotFound(_, let context), .keyNotFound(_, let context):
            return "'\(key(context.codingPath))' is missing"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // A configuration's own validation: its message starts with the official key.
            return "\(section).\(context.debugDescription)"
        case .dataCorrupted(let context):
            return "'\(key(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "'\(section)': \(error)"
        }
    }

    /// Builds the network of the options file at `url` (read within ``BoundedYAML/Limits/options``).
    public static func build(contentsOf url: URL, seed: UInt64 = 0) throws -> any RestorationModel {
        let parsed: Any?
        do { parsed = try BoundedYAML.load(contentsOf: url) } catch { throw Error(description: error.description) }
        guard let root = parsed as? [String: Any], let network = root["network_g"] as? [String: Any] else {
            throw Error(description: "\(url.path): the options have no 'network_g' section")
        }
        do { return try build(network: network, seed: seed) } catch {
            throw Error(description: "\(url.path): \(error)")
        }
    }
}
