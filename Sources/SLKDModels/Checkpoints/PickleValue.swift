/// An object read from a checkpoint's pickle by the restricted unpickler.
///
/// This is the whole vocabulary a PyTorch state dict (and the usual extras next to it: epoch,
/// optimizer state, BasicSR bookkeeping) is made of. Tensors stay descriptions (``StoredTensor``)
/// until ``PyTorchCheckpoint/tensor(_:)`` reads their storage.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case dict(PickleDictionary)
    /// A tensor, rebuilt by `torch._utils._rebuild_tensor_v2` (or `_rebuild_parameter`).
    case tensor(StoredTensor)
    /// An allowed class named but never called, such as `collections.OrderedDict`.
    case global(module: String, name: String)
}

/// A pickled `dict` or `collections.OrderedDict`, keys in file order.
public struct PickleDictionary: Sendable, Equatable {
    /// The items in insertion order.
    public var items: [Item]
    /// Whether the object was an `OrderedDict` (as every `state_dict()` is).
    public var isOrdered: Bool
    /// Instance attributes set by BUILD, e.g. a state dict's `_metadata`, in file order.
    public var attributes: [Attribute]

    public struct Item: Sendable, Equatable {
        public var key: PickleValue
        public var value: PickleValue
    }

    public struct Attribute: Sendable, Equatable {
        public var name: String
        public var value: PickleValue
    }

    /// The value stored under a string key (the last one if the file repeats it).
    public subscript(key: String) -> PickleValue? {
        items.last { $0.key == .string(key) }?.value
    }

    /// The string keys in file order (non-string keys are skipped).
    public var stringKeys: [String] {
        items.compactMap { if case let .string(s) = $0.key { s } else { nil } }
    }

    /// The attribute set by BUILD under `name`, e.g. `"_metadata"`.
    public func attribute(_ name: String) -> PickleValue? {
        attributes.last { $0.name == name }?.value
    }
}

extension PickleValue {
    /// The dictionary, when this is a `dict` or `OrderedDict`.
    public var dictionary: PickleDictionary? { if case let .dict(d) = self { d } else { nil } }
    /// The value under a string key, when this is a dictionary.
    public subscript(key: String) -> PickleValue? { dictionary?[key] }
    /// The integer, when this is an `int` (or a `bool`, as in Python).
    public var intValue: Int? {
        switch self {
        case let .int(v): v
        case let .bool(b): b ? 1 : 0
        default: nil
        }
    }
    /// The number, when this is a `float` or an `int`.
    public var doubleValue: Double? {
        switch self {
        case let .float(v): v
        case let .int(v): Double(v)
        default: nil
        }
    }
    /// The string, when this is a `str`.
    public var stringValue: String? { if case let .string(s) = self { s } else { nil } }
    /// The elements, when this is a `list` or a `tuple`.
    public var elements: [PickleValue]? {
        switch self {
        case let .list(v), let .tuple(v): v
        default: nil
        }
    }
    /// The tensor description, when this is a tensor.
    public var storedTensor: StoredTensor? { if case let .tensor(t) = self { t } else { nil } }
}

/// The element type of a PyTorch storage, named after its legacy storage class.
public enum StorageType: String, Sendable, Equatable, CaseIterable {
    case float = "FloatStorage"
    case double = "DoubleStorage"
    case half = "HalfStorage"
    case bfloat16 = "BFloat16Storage"
    case long = "LongStorage"
    case int = "IntStorage"
    case short = "ShortStorage"
    case char = "CharStorage"
    case byte = "ByteStorage"
    case bool = "BoolStorage"

    /// Bytes per element in the file.
    public var byteSize: Int {
        switch self {
        case .double, .long: 8
        case .float, .int: 4
        case .half, .bfloat16, .short: 2
        case .char, .byte, .bool: 1
        }
    }

    /// The `DType` the loader produces: half precision widens to float32, integers and booleans to
    /// int64, float32 and float64 stay.
    public var loadedDType: DType {
        switch self {
        case .float, .half, .bfloat16: .float32
        case .double: .float64
        case .long, .int, .short, .char, .byte, .bool: .int64
        }
    }
}

/// A tensor as the pickle describes it: a strided view into one storage record of the archive.
public struct StoredTensor: Sendable, Equatable {
    /// The storage record's key: the tensor's bytes are in `<archive>/data/<storageKey>`.
    public var storageKey: String
    /// The storage's element type.
    public var storageType: StorageType
    /// The storage's element count, as the pickle declares it.
    public var storageCount: Int
    /// The view: first element, size and stride (in elements) along each axis.
    public var storageOffset: Int
    public var shape: [Int]
    public var strides: [Int]
    /// The `requires_grad` flag recorded in the file (informational).
    public var requiresGrad: Bool
}
