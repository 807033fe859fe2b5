/// The base class of layers and models: a tree of submodules with named weights.
///
/// A module finds its weights and children by reflection over its stored properties, so model
/// code only declares them:
///
/// ```swift
/// final class FeedForward: Module, UnaryLayer {
///     let projectIn: Linear                       // key "projectIn"
///     @Submodule(key: "project_out") var projectOut: Linear
///     @Parameter var temperature: Tensor
///
///     init(dim: Int, using g: inout RandomGenerator) {
///         projectIn = Linear(dim, 2 * dim, using: &g)
///         temperature = .ones([1])
///         super.init()
///         projectOut = Linear(2 * dim, dim, using: &g)
///     }
///     func callAsFunction(_ x: Tensor) -> Tensor { projectOut(projectIn(x).tanh()) * temperature }
/// }
/// ```
///
/// Recognised properties: ``Parameter`` and ``Buffer`` wrappers (weights), modules, optional
/// modules, arrays of modules (children `"name.0"`, `"name.1"`, …) and ``Submodule`` wrappers.
/// Dotted keys therefore follow PyTorch `state_dict` keys (`encoder_level1.0.attn.qkv.weight`)
/// when properties carry the PyTorch attribute names (or keys).
open class Module {
    /// Whether the module is in training mode (dropout, drop-path and the like consult this).
    public private(set) var isTraining = true

    public init() {}

    // MARK: Structure

    /// The direct children with their keys. Reflection by default; containers override it.
    open var namedChildren: [(key: String, module: Module)] { reflect().children }

    /// The weights held directly by this module (not by its children), with their keys.
    open var namedSlots: [(key: String, slot: ParameterSlot)] { reflect().slots }

    /// Reads stored properties through `Mirror`, superclass properties first, stopping at `Module`.
    private func reflect() -> (children: [(key: String, module: Module)], slots: [(key: String, slot: ParameterSlot)]) {
        var children: [(key: String, module: Module)] = []
        var slots: [(key: String, slot: ParameterSlot)] = []
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror, m.subjectType != Module.self {
            mirrors.append(m)
            mirror = m.superclassMirror
        }
        func addModules(_ value: Any, key: String) {
            if let module = value as? Module {
                children.append((key, module))
            } else if let modules = value as? [Module] {
                for (i, module) in modules.enumerated() { children.append(("\(key).\(i)", module)) }
            }
        }
        for m in mirrors.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
                if let property = child.value as? SlotProperty {
                    slots.append((property.key ?? name, property.slot))
                } else if let property = child.value as? SubmoduleProperty {
                    if let value = property.anyValue { addModules(value, key: property.key ?? name) }
                } else {
                    addModules(child.value, key: name)
                }
            }
        }
        return (children, slots)
    }

    /// Every module of the tree with its dotted key (this module first, with key "").
    public func namedModules() -> [(key: String, module: Module)] {
        var result: [(key: String, module: Module)] = []
        func visit(_ module: Module, _ prefix: String) {
            result.append((prefix, module))
            for (key, child) in module.namedChildren { visit(child, prefix.isEmpty ? key : prefix + "." + key) }
        }
        visit(self, "")
        return result
    }

    /// Every weight slot of the tree (parameters and buffers, present or absent), by dotted key,
    /// in declaration order.
    public func namedSlotsRecursively() -> [(key: String, slot: ParameterSlot)] {
        var result: [(key: String, slot: ParameterSlot)] = []
        var seen = Set<String>()
        for (prefix, module) in namedModules() {
            for (key, slot) in module.namedSlots {
                let full = prefix.isEmpty ? key : prefix + "." + key
                precondition(seen.insert(full).inserted, "duplicate state-dictionary key '\(full)' in \(type(of: self))")
                result.append((full, slot))
            }
        }
        return result
    }

    /// The parameters (trainable and frozen) by dotted key, as PyTorch's `named_parameters()`.
    public func namedParameters() -> [(key: String, tensor: Tensor)] {
        namedSlotsRecursively().compactMap { key, slot in
            guard slot.kind == .parameter, let t = slot.tensor else { return nil }
            return (key, t)
        }
    }

    /// The parameters an optimizer updates (not frozen), by dotted key.
    public func trainableParameters() -> [(key: String, tensor: Tensor)] {
        namedSlotsRecursively().compactMap { key, slot in
            guard slot.isTrainable, let t = slot.tensor else { return nil }
            return (key, t)
        }
    }

    /// The buffers by dotted key, as PyTorch's `named_buffers()`.
    public func namedBuffers() -> [(key: String, tensor: Tensor)] {
        namedSlotsRecursively().compactMap { key, slot in
            guard slot.kind == .buffer, let t = slot.tensor else { return nil }
            return (key, t)
        }
    }

    /// The number of parameter elements (frozen included).
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.tensor.count } }

    /// Calls `body` on every module of the tree, this one first.
    public func apply(_ body: (Module) -> Void) {
        for (_, module) in namedModules() { body(module) }
    }

    // MARK: Modes

    /// Switches this module and all its descendants to training (`true`) or evaluation mode.
    public func train(_ training: Bool = true) {
        apply { $0.isTraining = training }
    }

    /// Switches this module and all its descendants to evaluation mode.
    public func eval() { train(false) }

    /// Excludes every parameter of this subtree from training: no gradient leaves, no updates.
    public func freeze() {
        for (_, slot) in namedSlotsRecursively() { slot.setFrozen(true) }
    }

    /// Makes every parameter of this subtree trainable again.
    public func unfreeze() {
        for (_, slot) in namedSlotsRecursively() { slot.setFrozen(false) }
    }
}
