import Foundation
import Yams

/// YAML for files from strangers: Yams wrapped with the limits it lacks.
///
/// Yams (libyaml underneath) parses any nesting depth recursively and expands aliases without a
/// budget, so a few KB can overflow the stack or take gigabytes ("billion laughs"). Here the text
/// is first bounded in size and scanned for its nesting depth (`YAMLNestingScan`); then Yams
/// composes the node tree, in which an alias is a shared copy, not an expansion; and then this type
/// converts the tree to Swift values itself, counting every node it produces (aliases expanded) against a
/// budget and refusing duplicate mapping keys, which Yams would silently overwrite.
///
/// Values come back as Yams' default constructor makes them: `[String: Any]` mappings, `[Any]`
/// sequences, and `String`, `Int`, `Double`, `Bool` or `NSNull` scalars.
public enum BoundedYAML {
    /// The bounds applied to one document.
    public struct Limits: Sendable, Equatable {
        /// The most bytes of text read (options files are a few KB).
        public var maximumBytes: Int
        /// The deepest nesting of collections (BasicSR files nest 4 levels).
        public var maximumDepth: Int
        /// The most nodes the document may expand to, aliases counted at every use.
        public var maximumNodes: Int

        public init(maximumBytes: Int = 1 << 20, maximumDepth: Int = 64, maximumNodes: Int = 100_000) {
            self.maximumBytes = maximumBytes
            self.maximumDepth = maximumDepth
            self.maximumNodes = maximumNodes
        }

        /// 1 MiB, 64 levels, 100,000 nodes.
        public static let options = Limits()
    }

    /// Parses one YAML document within `limits`.
    ///
    /// - Parameters:
    ///   - text: the document.
    ///   - file: the name used in errors.
    ///   - limits: the bounds on its size, depth and node count.
    /// - Throws: ``OptionsFileError`` naming the file: too large, too deep, too many nodes,
    ///   a duplicate key (by its dotted path), or invalid YAML.
    public static func load(_ text: String, file: String, limits: Limits = .options) throws(OptionsFileError) -> Any? {
        let size = text.utf8.count
        guard size <= limits.maximumBytes else {
            throw OptionsFileError(file: file, "\(size) bytes is over the \(limits.maximumBytes)-byte limit for YAML files")
        }
        let scan = YAMLNestingScan.scan(text, limit: limits.maximumDepth)
        if let line = scan.firstLineOverLimit {
            throw OptionsFileError(file: file, "line \(line): nesting deeper than \(limits.maximumDepth) levels")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw OptionsFileError(file: file, "not valid YAML: \(String(describing: error).split(separator: "\n").joined(separator: " "))")
        }
        guard let root else { return nil }
        var converter = Converter(file: file, limits: limits)
        return try converter.value(root, path: "", depth: 0)
    }

    /// Reads and parses the YAML file at `url` within `limits` (the size is checked before reading).
    public static func load(contentsOf url: URL, limits: Limits = .options) throws(OptionsFileError) -> Any? {
        let data: Data
        do { data = try InputFile.read(url, maximumBytes: limits.maximumBytes) } catch {
            throw OptionsFileError(file: url.path, error.reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw OptionsFileError(file: url.path, "not UTF-8 text")
        }
        return try load(text, file: url.path, limits: limits)
    }

    /// The node tree to Swift values, counting nodes and depth as it goes.
    private struct Converter {
        let file: String
        let limits: Limits
        var nodes = 0

        init(file: String, limits: Limits) {
            self.file = file
            self.limits = limits
        }

        /// Whether Yams' base-60 conversion of `text` (YAML 1.1's `190:20:30`) would overflow an
        /// `Int`: it sums `digit · 60^k` from the last part and multiplies its base by 60 after every
        /// part, the last one included, all without overflow checks — so 11 parts overflow even
        /// when the value itself would fit.
        static func sexagesimalOverflows(_ text: String) -> Bool {
            var body = Substring(text.replacingOccurrences(of: "_", with: ""))
            if body.first == "-" || body.first == "+" { body = body.dropFirst() }
            let parts = body.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count > 1 else { return false }
            var base = 1, value = 0
            for part in parts.reversed() {
                // Yams drops parts that are not integers (compactMap); an integer too long for Int
                // is dropped the same way.
                guard let digit = Int(part) else { continue }
                let (term, o1) = digit.multipliedReportingOverflow(by: base)
                let (sum, o2) = value.addingReportingOverflow(term)
                let (next, o3) = base.multipliedReportingOverflow(by: 60)
                if o1 || o2 || o3 { return true }
                (value, base) = (sum, next)
            }
            return false
        }

        mutating func value(_ node: Node, path: String, depth: Int) throws(OptionsFileError) -> Any {
            nodes += 1
            guard nodes <= limits.maximumNodes else {
                throw OptionsFileError(file: file, "expands to more than \(limits.maximumNodes) YAML nodes (aliases are counted at every use)")
            }
            // Aliases can stack shared subtrees deeper than the text shows.
            guard depth <= limits.maximumDepth else {
                throw OptionsFileError(file: file, "'\(path)' nests deeper than \(limits.maximumDepth) levels")
            }
            switch node {
            case .scalar(let scalar):
                // Yams reads YAML 1.1's base-60 integers (`190:20:30`) with unchecked arithmetic.
                if scalar.style == .plain, Self.sexagesimalOverflows(scalar.string) {
                    throw OptionsFileError(file: file, "'\(path)' is a base-60 (YAML 1.1) number too large for 64 bits: \(scalar.string.prefix(40))")
                }
                return Constructor.default.any(from: node)
            case .sequence(let sequence):
                var out: [Any] = []
                for (i, element) in sequence.enumerated() {
                    out.append(try value(element, path: "\(path)[\(i)]", depth: depth + 1))
                }
                return out
            case .mapping(let mapping):
                var out: [String: Any] = [:]
                var merged: [String: Any] = [:]
                for (keyNode, valueNode) in mapping {
                    guard case .scalar(let scalar) = keyNode else {
                        throw OptionsFileError(file: file, "'\(path)' has a key that is not a plain string")
                    }
                    let key = scalar.string
                    let dotted = path.isEmpty ? key : "\(path).\(key)"
                    if key == "<<" && scalar.style == .plain {
                        // A merge key (`<<: *defaults`): its mappings' entries fill in keys not given here.
                        try merge(valueNode, path: dotted, depth: depth, into: &merged)
                        continue
                    }
                    guard out[key] == nil else {
                        throw OptionsFileError(file: file, "duplicate key '\(dotted)'")
                    }
                    out[key] = try value(valueNode, path: dotted, depth: depth + 1)
                }
                for (key, v) in merged where out[key] == nil { out[key] = v }
                return out
            }
        }

        private mutating func merge(_ node: Node, path: String, depth: Int, into merged: inout [String: Any]) throws(OptionsFileError) {
            let sources: [Node]
            switch node {
            case .mapping: sources = [node]
            case .sequence(let sequence): sources = Array(sequence)
            case .scalar: throw OptionsFileError(file: file, "'\(path)' must merge a mapping or a list of mappings")
            }
            for source in sources {
                guard case .mapping = source, let map = try value(source, path: path, depth: depth + 1) as? [String: Any] else {
                    throw OptionsFileError(file: file, "'\(path)' must merge a mapping or a list of mappings")
                }
                // Earlier sources win, as in YAML's merge-key rules.
                for (key, v) in map where merged[key] == nil { merged[key] = v }
            }
        }
    }
}

/// A problem in an options file, naming the file and (where there is one) the key: a YAML
/// document that ``BoundedYAML`` refuses, or a value that the options reader refuses.
public struct OptionsFileError: Error, CustomStringConvertible, Equatable {
    /// The file (or the name given for text).
    public var file: String
    /// One line: what is wrong.
    public var message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
