extension ComparedMethod {
    /// This arm with `distill` options keys set over its configuration
    /// (``DistillationConfiguration/setting(_:source:)``, the options file's checks), renamed after
    /// them so that tuned runs never share a name with the defaults: `fitnets` with
    /// `fitnets_weight=0.05` becomes `fitnets_fitnets_weight0.05`.
    ///
    /// - Throws: ``OptionsError`` when a key or value would be refused in an options file.
    public func setting(_ options: [(key: String, value: String)], source: String) throws(OptionsError) -> Self {
        var method = self
        method.configuration = try configuration.setting(options, source: source)
        for (key, value) in options {
            method.name += "_\(key)\(Self.nameComponent(value))"
            method.label += ", \(key) \(value)"
        }
        return method
    }

    /// A value as a name shows it: a number in Swift's shortest form (so `0.50` and `5e-1` both
    /// give `0.5`, and one setting one name), anything else as given.
    public static func nameComponent(_ value: String) -> String {
        if Int(value) == nil, let number = Double(value), number.isFinite { return "\(number)" }
        return value
    }
}
