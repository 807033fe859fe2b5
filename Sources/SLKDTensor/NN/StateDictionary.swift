/// Why a state dictionary did not fit a module; every offending key is named.
public struct StateDictionaryError: Error, CustomStringConvertible, Equatable {
    /// A key whose tensor has the wrong shape.
    public struct ShapeMismatch: Equatable, Sendable {
        public var key: String
        public var expected: [Int]
        public var found: [Int]

        public init(key: String, expected: [Int], found: [Int]) {
            self.key = key
            self.expected = expected
            self.found = found
        }
    }

    /// Keys the module has but the dictionary lacks (reported when loading strictly).
    public var missingKeys: [String]
    /// Keys the dictionary has but the module lacks (reported when loading strictly).
    public var unexpectedKeys: [String]
    /// Keys present on both sides with different shapes (always reported).
    public var shapeMismatches: [ShapeMismatch]
    /// Keys whose values the module cannot use (always reported): a float tensor for an integer
    /// buffer that holds a non-integer, or values the slot's ``ParameterSlot/requireValues(_:)``
    /// check rejects.
    public var invalidValues: [InvalidValues] = []

    /// A key whose values cannot be loaded, and why.
    public struct InvalidValues: Equatable, Sendable {
        public var key: String
        public var reason: String

        public init(key: String, reason: String) {
            self.key = key
            self.reason = reason
        }
    }

    public var description: String {
        var parts: [String] = []
        if !missingKeys.isEmpty { parts.append("missing keys: " + missingKeys.joined(separator: ", ")) }
        if !unexpectedKeys.isEmpty { parts.append("unexpected keys: " + unexpectedKeys.joined(separator: ", ")) }
        for m in shapeMismatches {
            parts.append("size mismatch for \(m.key): checkpoint has \(m.found), model has \(m.expected)")
        }
        for v in invalidValues { parts.append("unusable values for \(v.key): \(v.reason)") }
        return "error loading state dictionary: " + parts.joined(separator: "; ")
    }
}

extension Module {
    /// Every parameter and buffer by dotted key (PyTorch `state_dict()`), detached from any graph.
    public func stateDictionary() -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (key, slot) in namedSlotsRecursively() {
            if let t = slot.tensor { result[key] = t.detached() }
        }
        return result
    }

    /// The dotted keys of ``stateDictionary()``, in declaration order.
    public func stateDictionaryKeys() -> [String] {
        namedSlotsRecursively().compactMap { $0.slot.tensor == nil ? nil : $0.key }
    }

    /// Replaces parameters and buffers with the tensors of `dictionary` (PyTorch
    /// `load_state_dict`). Tensors are converted to each slot's current dtype; parameters stay
    /// trainable or frozen as they were.
    ///
    /// Nothing is changed unless everything fits: with `strict`, a key missing on either side is
    /// an error; a shape mismatch is an error either way, and so are values a slot cannot use (a
    /// float tensor holding a non-integer for an int64 buffer, or values the slot's
    /// ``ParameterSlot/requireValues(_:)`` check rejects).
    ///
    /// - Returns: the missing and unexpected keys that a non-strict load skipped.
    /// - Throws: ``StateDictionaryError`` naming the offending keys.
    @discardableResult
    public func loadStateDictionary(_ dictionary: [String: Tensor], strict: Bool = true) throws
        -> (missingKeys: [String], unexpectedKeys: [String]) {
        let slots = namedSlotsRecursively().filter { $0.slot.tensor != nil }
        var error = StateDictionaryError(missingKeys: [], unexpectedKeys: [], shapeMismatches: [])
        var known = Set<String>()
        // Each value converted to its slot's dtype and checked, before any slot changes.
        var staged: [(slot: ParameterSlot, value: Tensor)] = []
        for (key, slot) in slots {
            known.insert(key)
            guard let value = dictionary[key] else { error.missingKeys.append(key); continue }
            let expected = slot.tensor!.shape, dtype = slot.tensor!.dtype
            if value.shape != expected {
                error.shapeMismatches.append(.init(key: key, expected: expected, found: value.shape))
                continue
            }
            if !dtype.isFloatingPoint && value.dtype.isFloatingPoint, let reason = Self.nonIntegerEntry(value) {
                error.invalidValues.append(.init(key: key, reason: reason))
                continue
            }
            let converted = withoutGradients { value.detached().cast(to: dtype) }
            if let reason = slot.valueCheck?(converted) {
                error.invalidValues.append(.init(key: key, reason: reason))
                continue
            }
            staged.append((slot, converted))
        }
        error.unexpectedKeys = dictionary.keys.filter { !known.contains($0) }.sorted()
        if !error.shapeMismatches.isEmpty || !error.invalidValues.isEmpty
            || (strict && !(error.missingKeys.isEmpty && error.unexpectedKeys.isEmpty)) {
            if !strict { error.missingKeys = []; error.unexpectedKeys = [] }
            throw error
        }
        for (slot, value) in staged { slot.set(value) }
        return (error.missingKeys, error.unexpectedKeys)
    }

    /// Why a float tensor cannot become int64 (an entry that is not a finite integer within
    /// Int64's range, which the conversion would trap on), or nil.
    private static func nonIntegerEntry(_ value: Tensor) -> String? {
        let entries = value.cast(to: .float64).doubles
        guard let i = entries.firstIndex(where: { !($0.isFinite && $0.rounded() == $0 && Swift.abs($0) < 0x1p63) }) else {
            return nil
        }
        return "entry \(i) is \(entries[i]), not an integer index"
    }
}
