/// How much one read of an untrusted file may allocate.
///
/// Weights, checkpoints and pickles come from strangers, and a few hundred bytes can describe
/// gigabytes (a broadcast view, a shape of `[0, 2^40, 2^40]`, a pickle of one-byte opcodes that each
/// create an object). Every binary reader in SLKD creates one budget per file and charges it before
/// it allocates, so the limits live here and nowhere else:
///
/// - **Bytes**: the tensor bytes a reader produces, at most ``bytesPerInputByte`` times the file's
///   size (but at least ``minimumByteLimit``), or an explicit maximum given by the caller. Widening
///   `F16` to float32 doubles the bytes and `U8` to int64 multiplies them by 8, so a legitimate file
///   stays well inside 16×; a file whose views repeat one storage thousands of times does not.
/// - **Objects**: containers and values a parser creates (pickle tuples, lists, dicts, tree nodes),
///   at most twice the input size plus a small allowance, and never more than ``maximumObjects``.
/// - **Stack** and **memo**: the pickle machine's live stack items and memo entries, each capped
///   absolutely (``maximumStack``, ``maximumMemo``) and by the input size.
///
/// ```swift
/// var budget = ReadBudget(inputByteCount: data.count)
/// try budget.charge(bytes: count * 4, for: "tensor 'w'")
/// ```
public struct ReadBudget: Sendable {
    /// Tensor bytes allowed per byte of input when no explicit maximum is given.
    public static let bytesPerInputByte = 16
    /// The byte limit of a small file (tiny files may still hold a few broadcast or widened tensors).
    public static let minimumByteLimit = 256 << 20
    /// The most parser objects any one file may create. A state dict needs about ten per tensor,
    /// so a million is a hundred thousand tensors; tearing down that many takes about a second.
    public static let maximumObjects = 1 << 20
    /// The most live items on a pickle stack (its marks' saved items included).
    public static let maximumStack = 1 << 20
    /// The most pickle memo entries (about one per object in a `torch.save` pickle).
    public static let maximumMemo = 1 << 20
    /// Objects every file may create whatever its size.
    static let objectAllowance = 4096

    /// The most tensor bytes the read may produce.
    public let byteLimit: Int
    /// The most parser objects the read may create.
    public let objectLimit: Int
    /// The most live stack items a pickle may hold.
    public let stackLimit: Int
    /// The most memo entries a pickle may hold.
    public let memoLimit: Int
    /// Tensor bytes charged so far.
    public private(set) var bytesUsed = 0
    /// Objects charged so far.
    public private(set) var objectsUsed = 0

    /// A budget for a file of `inputByteCount` bytes.
    ///
    /// - Parameters:
    ///   - inputByteCount: the file's size.
    ///   - maximumBytes: the caller's own cap on tensor bytes (for example a `--max-memory`
    ///     setting); it replaces the limit derived from the file's size.
    public init(inputByteCount: Int, maximumBytes: Int? = nil) {
        let size = max(inputByteCount, 0)
        let scaled = size.multipliedReportingOverflow(by: Self.bytesPerInputByte)
        byteLimit = maximumBytes.map { max($0, 0) } ?? max(Self.minimumByteLimit, scaled.overflow ? Int.max : scaled.partialValue)
        let relative = min(size, Int.max / 4) * 2 + Self.objectAllowance
        objectLimit = min(relative, Self.maximumObjects)
        stackLimit = min(relative, Self.maximumStack)
        memoLimit = min(relative, Self.maximumMemo)
    }

    /// Charges `bytes` tensor bytes (an element count times an element size: pass both to have
    /// their product checked for overflow too).
    public mutating func charge(elements: Int, ofSize size: Int, for what: @autoclosure () -> String) throws(ReadBudgetExceeded) {
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: size)
        guard !overflow, elements >= 0, size >= 0 else {
            throw ReadBudgetExceeded(resource: .bytes, what: what(), requested: Int.max, limit: byteLimit)
        }
        try charge(bytes: bytes, for: what())
    }

    /// Charges `bytes` tensor bytes.
    public mutating func charge(bytes: Int, for what: @autoclosure () -> String) throws(ReadBudgetExceeded) {
        let (total, overflow) = bytesUsed.addingReportingOverflow(bytes)
        guard !overflow, bytes >= 0, total <= byteLimit else {
            throw ReadBudgetExceeded(resource: .bytes, what: what(), requested: overflow ? Int.max : total, limit: byteLimit)
        }
        bytesUsed = total
    }

    /// Charges `count` parser objects.
    public mutating func charge(objects count: Int, for what: @autoclosure () -> String) throws(ReadBudgetExceeded) {
        let (total, overflow) = objectsUsed.addingReportingOverflow(count)
        guard !overflow, count >= 0, total <= objectLimit else {
            throw ReadBudgetExceeded(resource: .objects, what: what(), requested: overflow ? Int.max : total, limit: objectLimit)
        }
        objectsUsed = total
    }

    /// Checks that a stack about to hold `depth` items stays inside the budget.
    public func check(stack depth: Int, for what: @autoclosure () -> String) throws(ReadBudgetExceeded) {
        guard depth <= stackLimit else { throw ReadBudgetExceeded(resource: .stack, what: what(), requested: depth, limit: stackLimit) }
    }

    /// Checks that a memo about to hold `count` entries stays inside the budget.
    public func check(memo count: Int, for what: @autoclosure () -> String) throws(ReadBudgetExceeded) {
        guard count <= memoLimit else { throw ReadBudgetExceeded(resource: .memo, what: what(), requested: count, limit: memoLimit) }
    }
}

/// Which limit of a ``ReadBudget`` a read ran into.
public enum ReadBudgetResource: String, Sendable, Equatable {
    case bytes = "tensor bytes"
    case objects = "objects"
    case stack = "stack items"
    case memo = "memo entries"
}

/// A read that would pass one of the budget's limits. The reader wraps it in its own error type.
public struct ReadBudgetExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    /// The limit concerned.
    public var resource: ReadBudgetResource
    /// What was being read (a tensor name, a pickle opcode).
    public var what: String
    /// The amount the read would reach.
    public var requested: Int
    /// The limit.
    public var limit: Int

    /// An account of a read that would reach `requested` of `resource`, over `limit`.
    public init(resource: ReadBudgetResource, what: String, requested: Int, limit: Int) {
        self.resource = resource
        self.what = what
        self.requested = requested
        self.limit = limit
    }

    public var description: String {
        "\(what) would need \(requested) \(resource.rawValue), over the read budget of \(limit)"
    }
}
