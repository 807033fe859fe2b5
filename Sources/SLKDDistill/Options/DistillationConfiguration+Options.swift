import Foundation

extension DistillationConfiguration {
    /// This configuration with `distill` options keys set over it, each read, range-checked and
    /// refused exactly as in an options file's `distill` section (`slkd demo --set` uses it to
    /// tune an arm's own weights).
    ///
    /// - Parameters:
    ///   - options: (key, value) pairs; keys without the `distill.` prefix, values as typed on a
    ///     command line: `true` and `false` are booleans, whole numbers integers, anything else a
    ///     string (number keys parse it, as they do an untagged `3e-4` in YAML).
    ///   - source: what error messages name as the file, e.g. `--set`.
    /// - Throws: ``OptionsError`` for an unknown key, a key given twice, a value of the wrong type
    ///   or range, and for `method`, which would change what is trained rather than how.
    public func setting(_ options: [(key: String, value: String)], source: String) throws(OptionsError) -> Self {
        var section: [String: Any] = [:]
        for (key, value) in options {
            guard key != "method" else {
                throw OptionsError(file: source, "'distill.method' cannot be set here; choose the method by name instead")
            }
            guard section[key] == nil else { throw OptionsError(file: source, "'distill.\(key)' is given twice") }
            section[key] = Self.scalar(value)
        }
        return try OptionsReader(file: source, base: URL(fileURLWithPath: "/")).distillation(section, over: self)
    }

    /// A command-line value as YAML would type it: booleans and integers; the rest stays text.
    private static func scalar(_ text: String) -> Any {
        switch text {
        case "true": return true
        case "false": return false
        default: return Int(text) ?? text
        }
    }
}
