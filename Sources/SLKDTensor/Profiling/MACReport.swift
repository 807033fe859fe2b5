/// The multiply–accumulates counted by one ``MACCounter/count(_:)``, with fvcore's rules.
public struct MACReport: Sendable, Equatable {
    /// The MACs of one operator kind in one stage, charged to one weight.
    public struct Entry: Sendable, Equatable {
        /// The explicit ``MACCounter/stage(_:_:)`` path (`""` outside any stage).
        public let stage: String
        /// The operator kind.
        public let `operator`: MACOperator
        /// The storage of the weight charged (the op's own, or the last weighted op's before it).
        let owner: ObjectIdentifier?
        /// Multiply–accumulates.
        public let macs: Int
    }

    /// Counts by (stage, operator, weight), in the order first seen.
    public let entries: [Entry]

    /// All counted multiply–accumulates.
    public var total: Int { entries.reduce(0) { $0 + $1.macs } }

    /// The MACs of one operator kind.
    public func macs(_ op: MACOperator) -> Int {
        entries.reduce(0) { $0 + ($1.operator == op ? $1.macs : 0) }
    }

    /// MACs by operator kind, kinds that ran only.
    public var byOperator: [MACOperator: Int] {
        entries.reduce(into: [:]) { $0[$1.operator, default: 0] += $1.macs }
    }

    /// The explicit stage paths that counted anything, in order first seen (`""` for MACs outside
    /// every stage).
    public var stageNames: [String] {
        var seen = Set<String>()
        return entries.compactMap { seen.insert($0.stage).inserted ? $0.stage : nil }
    }

    /// The MACs inside the explicit stage `name`, nested stages (`name.sub`) included.
    public func macs(inStage name: String) -> Int {
        entries.reduce(0) { sum, e in
            let inside = e.stage == name || e.stage.hasPrefix(name + ".")
            return sum + (inside ? e.macs : 0)
        }
    }

    /// MACs charged to each direct child of `module`, in the module's child order (children that
    /// counted nothing included), and the rest: MACs charged to `module`'s own weights, to weights
    /// it does not hold, or to none.
    ///
    /// An op is charged to the module holding its weight; weightless ops (attention matmuls,
    /// adaptive pooling) to the module of the last weighted op before them. `module` must be the
    /// one that ran, still holding the same weights.
    public func macsByChild(of module: Module, only op: MACOperator? = nil)
        -> (children: [(key: String, macs: Int)], other: Int)
    {
        let children = module.namedChildren
        var childOf: [ObjectIdentifier: Int] = [:]
        for (index, (_, child)) in children.enumerated() {
            for (_, slot) in child.namedSlotsRecursively() {
                if let t = slot.tensor { childOf[ObjectIdentifier(t.storage)] = index }
            }
        }
        var sums = [Int](repeating: 0, count: children.count)
        var other = 0
        for e in entries where op == nil || e.operator == op {
            if let owner = e.owner, let index = childOf[owner] { sums[index] += e.macs } else { other += e.macs }
        }
        return (zip(children, sums).map { ($0.0.key, $0.1) }, other)
    }

    /// MACs by stage of `module`: an explicit ``MACCounter/stage(_:_:)`` wins (its outermost
    /// name, up to the first `.`); otherwise the direct child charged by ``macsByChild(of:only:)``.
    /// Children come first in child order (zeros included), then explicit stages that are not
    /// children, in order first seen; MACs with neither land in `other`.
    public func macsByStage(of module: Module) -> (stages: [(name: String, macs: Int)], other: Int) {
        let children = module.namedChildren
        var names = children.map(\.key)
        var index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var childOf: [ObjectIdentifier: Int] = [:]
        for (i, (_, child)) in children.enumerated() {
            for (_, slot) in child.namedSlotsRecursively() {
                if let t = slot.tensor { childOf[ObjectIdentifier(t.storage)] = i }
            }
        }
        var sums = [Int](repeating: 0, count: names.count)
        var other = 0
        for e in entries {
            if !e.stage.isEmpty {
                let name = String(e.stage.prefix { $0 != "." })
                if index[name] == nil {
                    index[name] = names.count
                    names.append(name)
                    sums.append(0)
                }
                sums[index[name]!] += e.macs
            } else if let owner = e.owner, let i = childOf[owner] {
                sums[i] += e.macs
            } else {
                other += e.macs
            }
        }
        return (zip(names, sums).map { ($0, $1) }, other)
    }
}

extension MACReport: CustomStringConvertible {
    public var description: String {
        let parts = byOperator.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }
        return "MACReport(total: \(total)\(parts.isEmpty ? "" : "; " + parts.joined(separator: ", ")))"
    }
}
