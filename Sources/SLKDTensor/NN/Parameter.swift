/// The mutable cell behind one ``Parameter`` or ``Buffer`` of a ``Module``.
///
/// Tensors are values; a module's weights change by replacing the tensor in its slot. Modules,
/// state dictionaries and optimizers all reach a weight through its slot, so an optimizer step or
/// a checkpoint load is seen by the module's `callAsFunction` without any copying back.
public final class ParameterSlot {
    /// Whether the slot holds a trainable weight or a non-trainable buffer.
    public enum Kind: Sendable { case parameter, buffer }

    public let kind: Kind
    /// Frozen parameters hold their tensor without a gradient leaf and are left out of training.
    public internal(set) var isFrozen = false
    /// The current tensor (nil for an absent optional weight such as a bias turned off).
    public internal(set) var tensor: Tensor?

    init(kind: Kind, tensor: Tensor?) {
        self.kind = kind
        self.tensor = nil
        set(tensor)
    }

    /// Whether an optimizer updates this slot.
    public var isTrainable: Bool { kind == .parameter && !isFrozen && tensor != nil }

    /// What a loaded tensor must satisfy beyond its shape and dtype, set by ``requireValues(_:)``.
    public private(set) var valueCheck: ((Tensor) -> String?)?

    /// Makes ``Module/loadStateDictionary(_:strict:)`` refuse a tensor for this slot whose values
    /// `check` rejects: it returns why (one phrase, such as "entry 12 is 9000, past the table's 225
    /// rows"), or nil to accept. For values a later forward relies on and a file could get wrong,
    /// such as an index buffer into another tensor: the load throws and leaves the module as it was,
    /// instead of the forward failing.
    public func requireValues(_ check: @escaping (Tensor) -> String?) {
        valueCheck = check
    }

    /// Stores `value`: a trainable parameter becomes a fresh gradient leaf (so `grads[param]`
    /// finds it after `backward()`); buffers and frozen parameters are stored detached.
    func set(_ value: Tensor?) {
        guard let value else { tensor = nil; return }
        if kind == .parameter && !isFrozen && value.dtype.isFloatingPoint {
            tensor = value.detached().requiringGrad()
        } else {
            tensor = value.detached()
        }
    }

    func setFrozen(_ frozen: Bool) {
        guard kind == .parameter, frozen != isFrozen else { return }
        isFrozen = frozen
        set(tensor)
    }
}

/// A value a ``Parameter`` or ``Buffer`` can wrap: `Tensor`, or `Tensor?` for optional weights.
public protocol SlotValue {
    init(slotTensor: Tensor?)
    var slotTensor: Tensor? { get }
}

extension Tensor: SlotValue {
    public init(slotTensor: Tensor?) {
        guard let slotTensor else { preconditionFailure("parameter read before it was assigned") }
        self = slotTensor
    }
    public var slotTensor: Tensor? { self }
}

extension Optional: SlotValue where Wrapped == Tensor {
    public init(slotTensor: Tensor?) { self = slotTensor }
    public var slotTensor: Tensor? { self }
}

/// What module reflection recognises as a weight-bearing property.
protocol SlotProperty {
    var key: String? { get }
    var slot: ParameterSlot { get }
}

/// Which kind of slot a ``ModuleSlot`` declares (``ParameterRole`` or ``BufferRole``).
public protocol SlotRole {
    static var kind: ParameterSlot.Kind { get }
}

/// The role of ``Parameter``s: trainable weights.
public enum ParameterRole: SlotRole {
    public static var kind: ParameterSlot.Kind { .parameter }
}

/// The role of ``Buffer``s: non-trainable state.
public enum BufferRole: SlotRole {
    public static var kind: ParameterSlot.Kind { .buffer }
}

/// A weight-bearing property of a ``Module``, named in the state dictionary by its property name
/// or by `key` (the PyTorch attribute name, when Swift spells it differently). Declared through
/// its two roles, ``Parameter`` and ``Buffer``.
///
/// Properties declared with a `key` are assigned after `super.init()`.
@propertyWrapper
public struct ModuleSlot<Value: SlotValue, Role: SlotRole>: SlotProperty {
    public let key: String?
    public let slot: ParameterSlot

    public init(wrappedValue: Value, key: String? = nil) {
        self.key = key
        slot = ParameterSlot(kind: Role.kind, tensor: wrappedValue.slotTensor)
    }

    public init(key: String) {
        self.key = key
        slot = ParameterSlot(kind: Role.kind, tensor: nil)
    }

    public var wrappedValue: Value {
        get { Value(slotTensor: slot.tensor) }
        nonmutating set { slot.set(newValue.slotTensor) }
    }

    /// The slot itself (`$weight`), for optimizers and tests.
    public var projectedValue: ParameterSlot { slot }
}

/// A trainable weight of a ``Module``:
///
/// ```swift
/// @Parameter var weight: Tensor
/// @Parameter var bias: Tensor?
/// @Parameter(key: "relative_position_bias_table") var relativePositionBias: Tensor
/// ```
public typealias Parameter<Value: SlotValue> = ModuleSlot<Value, ParameterRole>

/// A non-trainable tensor of a ``Module`` that belongs in its state dictionary — running
/// statistics, or Uformer's int64 `relative_position_index`.
public typealias Buffer<Value: SlotValue> = ModuleSlot<Value, BufferRole>

/// What module reflection recognises as a keyed submodule property.
protocol SubmoduleProperty {
    var key: String? { get }
    var anyValue: Any? { get }
}

/// A submodule (or an array of them) stored under a PyTorch key that differs from the Swift
/// property name.
///
/// ```swift
/// @Submodule(key: "encoder_level1") var encoderLevel1: Sequential
/// ```
/// Plain `let`/`var` properties holding modules need no wrapper: their name is their key.
/// Properties declared with a `key` are assigned after `super.init()`.
@propertyWrapper
public struct Submodule<Value>: SubmoduleProperty {
    final class Box { var value: Value?; init(_ value: Value?) { self.value = value } }
    public let key: String?
    let box: Box

    public init(wrappedValue: Value, key: String? = nil) {
        self.key = key
        box = Box(wrappedValue)
    }

    public init(key: String) {
        self.key = key
        box = Box(nil)
    }

    public var wrappedValue: Value {
        get {
            guard let value = box.value else { preconditionFailure("submodule '\(key ?? "?")' read before it was assigned") }
            return value
        }
        nonmutating set { box.value = newValue }
    }

    var anyValue: Any? { box.value.map { $0 as Any } }
}
