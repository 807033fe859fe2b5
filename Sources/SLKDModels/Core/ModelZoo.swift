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
        guard let root = try Yams.load(yaml: yaml) as? [String: Any], let network = root[section] as? [String: Any] else {
            throw Error(description: "the options have no '\(section)' section")
        }
        return try build(network: network, section: section, seed: seed)
    }

    /// Builds the network of one parsed options section (`{type: Restormer, dim: 48, …}`).
    public static func build(network: [String: Any], section: String = "network_g", seed: UInt64 = 0) throws -> any RestorationModel {
        guard let type = network["type"] as? String else { throw Error(description: "\(section) has no 'type'") }
        let text = try Yams.dump(object: network)
        var generator = RandomGenerator(seed: seed)
        let decoder = YAMLDecoder()
        switch type {
        case "Restormer":
            let configuration = try decoder.decode(Restormer.Configuration.self, from: text)
            try configuration.validate()
            return Restormer(configuration, using: &generator)
        case "Uformer": return try Uformer(try decoder.decode(Uformer.Configuration.self, from: text), using: &generator)
        case "DRSformer": return DRSformer(try decoder.decode(DRSformer.Configuration.self, from: text), using: &generator)
        default: throw Error(description: "\(section) type '\(type)' is not one of Restormer, Uformer, DRSformer")
        }
    }

    /// Builds the network of the options file at `url`.
    public static func build(contentsOf url: URL, seed: UInt64 = 0) throws -> any RestorationModel {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw Error(description: "\(url.path): cannot read the options file")
        }
        do { return try build(yaml: text, seed: seed) } catch {
            throw Error(description: "\(url.path): \(error)")
        }
    }
}
