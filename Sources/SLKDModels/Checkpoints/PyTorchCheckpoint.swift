import Foundation

/// A PyTorch checkpoint in the zip format `torch.save` writes by default, read without Python.
///
/// The archive's `data.pkl` is read by a restricted unpickler that accepts only the objects a state
/// dict and its usual companions are made of (see ``PickleValue``) and never executes anything;
/// tensors are read from the raw `data/<key>` storages on demand.
///
/// ```swift
/// let weights = try PyTorchCheckpoint.load(from: url)        // [String: Tensor]
/// let checkpoint = try PyTorchCheckpoint(contentsOf: url)
/// let epoch = checkpoint.root["epoch"]?.intValue              // other entries stay readable
/// let ordered = try checkpoint.stateDict(.entry("params_ema"))
/// ```
public struct PyTorchCheckpoint: Sendable {
    /// How strictly to read the archive.
    public struct Options: Sendable {
        /// Check every record read against its zip CRC-32 (on by default). Each storage record is
        /// checked once, when the pickle first names it, however many tensors view it.
        public var verifyChecksums: Bool
        /// The most tensor bytes ``stateDict(_:strippingPrefix:)`` (or one ``tensor(_:)``) may
        /// produce; nil derives the limit from the file's size (see `ReadBudget`).
        public var maximumBytes: Int?
        public init(verifyChecksums: Bool = true, maximumBytes: Int? = nil) {
            self.verifyChecksums = verifyChecksums
            self.maximumBytes = maximumBytes
        }
    }

    /// The unpickled top-level object, e.g. `{'params': OrderedDict(...)}`.
    public let root: PickleValue
    /// The archive's folder name (the file stem when it was saved).
    public let archiveName: String
    private let archive: StoredZipArchive
    private let options: Options
    /// Storage keys whose records passed their CRC check while the pickle was read.
    private let verifiedStorages: Set<String>

    /// Reads and parses the checkpoint file at `url`.
    public init(contentsOf url: URL, options: Options = Options()) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw CheckpointError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data), options: options)
    }

    /// Parses a checkpoint held in memory.
    public init(bytes: [UInt8], options: Options = Options()) throws {
        let archive = try StoredZipArchive(bytes: bytes)
        let pickles = archive.entries.filter {
            let parts = $0.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && parts[1] == "data.pkl"
        }
        guard let pickle = pickles.first else { throw CheckpointError.missingRecord("<archive>/data.pkl") }
        guard pickles.count == 1 else {
            throw CheckpointError.malformedArchive("\(pickles.count) data.pkl records in one archive")
        }
        let name = String(pickle.name.dropLast("/data.pkl".count))
        if let order = archive.entry(named: "\(name)/byteorder") {
            let text = String(decoding: try archive.contents(of: order, verify: options.verifyChecksums), as: UTF8.self)
            guard text == "little" else { throw CheckpointError.unsupportedByteOrder(text) }
        }
        let pickleBytes = Array(try archive.contents(of: pickle, verify: options.verifyChecksums))
        var verified = Set<String>()
        self.root = try RestrictedUnpickler.unpickle(pickleBytes) { key, type, count in
            let record = "\(name)/data/\(key)"
            guard let entry = archive.entry(named: record) else { throw CheckpointError.missingRecord(record) }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: type.byteSize)
            guard !overflow, entry.dataRange.count >= bytes else {
                throw CheckpointError.storageTooSmall(key: key, needed: count,
                                                      available: entry.dataRange.count / type.byteSize)
            }
            // The unpickler resolves each storage key once, so this is the one CRC pass per storage;
            // views read it later unverified (2,000 views of 17 MB once took minutes).
            if options.verifyChecksums { _ = try archive.contents(of: entry, verify: true) }
            verified.insert(key)
        }
        self.verifiedStorages = verified
        self.archiveName = name
        self.archive = archive
        self.options = options
    }

    /// Reads one tensor's values from its storage record, within the file's `ReadBudget`.
    public func tensor(_ stored: StoredTensor) throws -> Tensor {
        var budget = readBudget()
        return try tensor(stored, budget: &budget)
    }

    private func readBudget() -> ReadBudget {
        ReadBudget(inputByteCount: archive.bytes.count, maximumBytes: options.maximumBytes)
    }

    /// Reads one tensor, charging its bytes to `budget` first: views may overlap or repeat one
    /// storage (stride 0), so the file's size alone does not bound what they make.
    private func tensor(_ stored: StoredTensor, budget: inout ReadBudget) throws -> Tensor {
        let record = "\(archiveName)/data/\(stored.storageKey)"
        guard let entry = archive.entry(named: record) else { throw CheckpointError.missingRecord(record) }
        try stored.validate()
        do {
            try budget.charge(elements: stored.count, ofSize: stored.storageType.loadedDType.byteSize,
                              for: "tensor of storage '\(stored.storageKey)' (size \(stored.shape))")
        } catch {
            throw CheckpointError.budgetExceeded(error)
        }
        // Storages named by the pickle were verified when it named them; others (a description
        // built by the caller) are verified here.
        let verify = options.verifyChecksums && !verifiedStorages.contains(stored.storageKey)
        return try stored.materialize(from: try archive.contents(of: entry, verify: verify))
    }

    /// The state dict inside the checkpoint, keys in file order.
    ///
    /// - Parameters:
    ///   - selection: which object holds the weights; ``StateDictSelection/automatic`` tries
    ///     `params`, `params_ema`, `state_dict`, then the top-level object itself.
    ///   - prefix: removed from every key that starts with it (`nn.DataParallel`'s
    ///     `module.`, as Uformer's `load_checkpoint` does); `nil` keeps keys as they are.
    public func stateDict(_ selection: StateDictSelection = .automatic,
                          strippingPrefix prefix: String? = "module.") throws -> StateDict {
        guard let top = root.dictionary else { throw CheckpointError.notAStateDict("the checkpoint holds a \(root.kindName)") }
        let source: String?
        let dict: PickleDictionary
        switch selection {
        case .root:
            (source, dict) = (nil, top)
        case let .entry(key):
            guard let value = top[key] else { throw CheckpointError.missingEntry(key, available: top.stringKeys) }
            guard let d = value.dictionary else { throw CheckpointError.notAStateDict("entry '\(key)' is a \(value.kindName)") }
            (source, dict) = (key, d)
        case .automatic:
            if let key = StateDictSelection.wrapperKeys.first(where: { top[$0]?.dictionary != nil }) {
                (source, dict) = (key, top[key]!.dictionary!)
            } else if top.items.allSatisfy({ $0.value.storedTensor != nil }) {
                (source, dict) = (nil, top)
            } else {
                throw CheckpointError.notAStateDict(
                    "no 'params', 'params_ema' or 'state_dict' entry and the top level is not all tensors (keys: \(top.stringKeys.joined(separator: ", ")))")
            }
        }
        var keys: [String] = []
        var tensors: [String: Tensor] = [:]
        var budget = readBudget()
        for item in dict.items {
            guard case let .string(fileKey) = item.key else {
                throw CheckpointError.notAStateDict("a key is a \(item.key.kindName), not a string")
            }
            guard let stored = item.value.storedTensor else {
                throw CheckpointError.notAStateDict("'\(fileKey)' is a \(item.value.kindName), not a tensor")
            }
            var key = fileKey
            if let prefix, !prefix.isEmpty, key.hasPrefix(prefix) { key.removeFirst(prefix.count) }
            guard tensors[key] == nil else { throw CheckpointError.notAStateDict("key '\(key)' appears twice") }
            keys.append(key)
            tensors[key] = try tensor(stored, budget: &budget)
        }
        return StateDict(keys: keys, tensors: tensors, sourceEntry: source)
    }

    /// Loads the state dict of the checkpoint at `url` (see ``stateDict(_:strippingPrefix:)``).
    ///
    /// - Parameters:
    ///   - url: the checkpoint.
    ///   - selection: which entry holds the state dict (``StateDictSelection``).
    ///   - prefix: `strippingPrefix:`, removed from the start of every key that has it.
    ///   - maximumBytes: the most tensor bytes the state dict may take (``Options/maximumBytes``);
    ///     nil derives the limit from the file's size.
    public static func load(from url: URL, selection: StateDictSelection = .automatic,
                            strippingPrefix prefix: String? = "module.", maximumBytes: Int? = nil) throws -> [String: Tensor] {
        try loadStateDict(from: url, selection: selection, strippingPrefix: prefix, maximumBytes: maximumBytes).tensors
    }

    /// Loads the state dict of the checkpoint at `url`, keys in file order (see
    /// ``load(from:selection:strippingPrefix:maximumBytes:)``).
    public static func loadStateDict(from url: URL, selection: StateDictSelection = .automatic,
                                     strippingPrefix prefix: String? = "module.", maximumBytes: Int? = nil) throws -> StateDict {
        try PyTorchCheckpoint(contentsOf: url, options: Options(maximumBytes: maximumBytes))
            .stateDict(selection, strippingPrefix: prefix)
    }
}

/// Which object of a checkpoint holds the weights.
public enum StateDictSelection: Sendable, Equatable {
    /// `params` (BasicSR: Restormer, DRSformer), else `params_ema` (BasicSR EMA-only files), else
    /// `state_dict` (Uformer), else the top-level object when it is a plain state dict.
    case automatic
    /// The dictionary stored under this top-level key.
    case entry(String)
    /// The top-level object itself.
    case root

    static let wrapperKeys = ["params", "params_ema", "state_dict"]
}

/// Named tensors in the checkpoint's order.
public struct StateDict: Sendable {
    /// The keys in file order (the model's registration order for a `state_dict()`).
    public let keys: [String]
    /// The tensors by key.
    public let tensors: [String: Tensor]
    /// The top-level entry the weights came from (`"params"`, …), or nil for the top level.
    public let sourceEntry: String?

    public var count: Int { keys.count }
    public subscript(key: String) -> Tensor? { tensors[key] }
}

extension PickleValue {
    /// A short name of the value's kind for error messages.
    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .tensor: "tensor"
        case let .global(module, name): "\(module).\(name)"
        }
    }
}
