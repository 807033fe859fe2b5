/// A pickle interpreter that accepts only what a PyTorch state dict is made of, and executes nothing.
///
/// Python's unpickler calls whatever global a file names, so loading an untrusted `.pth` with it
/// can run arbitrary code (`posix.system`, `builtins.eval` via REDUCE). This one is a data parser:
/// GLOBAL / STACK_GLOBAL names are checked against a fixed allow-list (`collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter`, `torch.<Type>Storage`), and REDUCE
/// only builds those objects' data. Any other global, opcode or inconsistency is a typed error.
///
/// Mutable containers live in reference boxes while the stream runs (pickle mutates them in place
/// after they are memoised), and are converted to a ``PickleValue`` tree at STOP.
struct RestrictedUnpickler {
    /// Resolves a persistent id ('storage', type, key, location, numel): checks the record exists
    /// and is large enough.
    typealias StorageResolver = (_ key: String, _ type: StorageType, _ count: Int) throws -> Void

    /// Deepest nesting accepted when converting to a tree (real state dicts nest about 6 deep).
    static let maximumDepth = 200

    private let bytes: [UInt8]
    private let resolveStorage: StorageResolver
    /// Objects, stack items and memo entries are charged here: a pickle of one-byte opcodes must
    /// not turn each byte into a hundred bytes of boxes and stack.
    private var budget: ReadBudget
    private var position = 0
    private var opcodeStart = 0
    private var stack: [Item] = []
    private var metastack: [[Item]] = []
    /// Items saved on `metastack` (they stay alive until their MARK is popped).
    private var savedItems = 0
    private var memo: [Int: Item] = [:]
    /// Every box created, so teardown can cut the links first and never recurse deeply.
    private var boxes: [Box] = []
    private var storageTypes: [String: (StorageType, Int)] = [:]

    init(bytes: [UInt8], resolveStorage: @escaping StorageResolver) {
        self.bytes = bytes
        self.resolveStorage = resolveStorage
        self.budget = ReadBudget(inputByteCount: bytes.count)
    }

    /// Runs the stream to STOP and returns the top object.
    static func unpickle(_ bytes: [UInt8], resolveStorage: @escaping StorageResolver) throws -> PickleValue {
        var machine = RestrictedUnpickler(bytes: bytes, resolveStorage: resolveStorage)
        defer { machine.tearDown() }
        let top = try machine.run()
        // The tree repeats every shared reference, so it gets its own allowance of the same size.
        var nodes = machine.budget.objectLimit
        return try machine.convert(top, depth: 0, budget: &nodes)
    }

    // MARK: - Intermediate objects

    private final class Box {
        enum Kind { case list, tuple, dict }
        let kind: Kind
        var elements: [Item] = []
        var pairs: [(Item, Item)] = []
        var attributes: [(String, Item)] = []
        var isOrdered = false
        init(_ kind: Kind) { self.kind = kind }
    }

    private struct StorageReference {
        let key: String
        let type: StorageType
        let count: Int
    }

    /// Stack and memo slots: the large payloads are indirect so that every slot stays 24 bytes.
    private enum Item {
        case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
        indirect case global(String, String)
        indirect case storage(StorageReference)
        indirect case tensor(StoredTensor)
        case box(Box)

        var kindName: String {
            switch self {
            case .none: "None"
            case .bool: "bool"
            case .int: "int"
            case .float: "float"
            case .string: "str"
            case .bytes: "bytes"
            case let .global(m, n): "\(m).\(n)"
            case .storage: "storage"
            case .tensor: "tensor"
            case let .box(b): "\(b.kind)"
            }
        }
    }

    private mutating func tearDown() {
        for box in boxes {
            box.elements = []
            box.pairs = []
            box.attributes = []
        }
        stack = []
        metastack = []
        memo = [:]
        boxes = []
    }

    private mutating func newBox(_ kind: Box.Kind) throws -> Box {
        try charge(objects: 1)
        let box = Box(kind)
        boxes.append(box)
        return box
    }

    /// Charges objects that are about to be created or copied (containers, copied pairs).
    private mutating func charge(objects count: Int) throws {
        do { try budget.charge(objects: count, for: "pickle opcode at byte \(opcodeStart)") } catch {
            throw CheckpointError.budgetExceeded(error)
        }
    }

    // MARK: - Errors and reading

    private func malformed(_ why: String) -> CheckpointError {
        .malformedPickle(why, offset: opcodeStart)
    }

    private mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else {
            throw malformed("pickle ends inside \(what) (needs \(n) bytes, \(bytes.count - position) left)")
        }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func littleEndian(_ n: Int, _ what: String) throws -> UInt64 {
        var value: UInt64 = 0
        for (i, byte) in try take(n, what).enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        return value
    }

    private mutating func length(_ n: Int, _ what: String) throws -> Int {
        let raw = try littleEndian(n, what)
        guard raw <= UInt64(bytes.count - position) else {
            throw malformed("\(what) length \(raw) runs past the end of the pickle")
        }
        return Int(raw)
    }

    private mutating func utf8(_ n: Int, _ what: String) throws -> String {
        guard let s = decodeUTF8(try take(n, what)) else {
            throw malformed("\(what) is not valid UTF-8")
        }
        return s
    }

    private mutating func line(_ what: String) throws -> String {
        guard let newline = bytes[position...].firstIndex(of: 0x0A) else {
            throw malformed("pickle ends inside \(what)")
        }
        let text = try utf8(newline - position, what)
        position += 1
        return text
    }

    private mutating func pop(_ opcode: String) throws -> Item {
        guard let top = stack.popLast() else { throw CheckpointError.stackUnderflow(opcode: opcode, offset: opcodeStart) }
        return top
    }

    private mutating func popMark(_ opcode: String) throws -> [Item] {
        guard let previous = metastack.popLast() else {
            throw CheckpointError.stackUnderflow(opcode: "\(opcode) (no MARK)", offset: opcodeStart)
        }
        savedItems -= previous.count
        defer { stack = previous }
        return stack
    }

    private mutating func mark() throws {
        try checkStack(adding: 1)
        savedItems += stack.count
        metastack.append(stack)
        stack = []
    }

    private mutating func push(_ item: Item) throws {
        try checkStack(adding: 1)
        stack.append(item)
    }

    /// Every live item counts: the stack, the items saved under MARKs and the MARKs themselves.
    private func checkStack(adding n: Int) throws {
        let live = stack.count + savedItems + metastack.count + n
        do { try budget.check(stack: live, for: "pickle opcode at byte \(opcodeStart)") } catch {
            throw CheckpointError.budgetExceeded(error)
        }
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let item = memo[index] else { throw CheckpointError.memoMiss(index: index, offset: opcodeStart) }
        try push(item)
    }

    private mutating func memoPut(_ index: Int, _ opcode: String) throws {
        guard let top = stack.last else { throw CheckpointError.stackUnderflow(opcode: opcode, offset: opcodeStart) }
        if memo[index] == nil {
            do { try budget.check(memo: memo.count + 1, for: "\(opcode) at byte \(opcodeStart)") } catch {
                throw CheckpointError.budgetExceeded(error)
            }
        }
        memo[index] = top
    }

    // MARK: - The interpreter loop

    private mutating func run() throws -> Item {
        while true {
            opcodeStart = position
            guard position < bytes.count else { throw malformed("pickle ends without STOP") }
            let opcode = bytes[position]
            position += 1
            switch opcode {
            case 0x80:  // PROTO
                let version = try take(1, "PROTO").first!
                guard version <= 5 else { throw malformed("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME: a length hint only
                _ = try take(8, "FRAME")
            case 0x2E:  // STOP
                let top = try pop("STOP")
                return top
            case 0x28:  // MARK
                try mark()
            case 0x30:  // POP
                if stack.isEmpty { _ = try popMark("POP") } else { _ = try pop("POP") }
            case 0x31:  // POP_MARK
                _ = try popMark("POP_MARK")
            case 0x32:  // DUP
                guard let top = stack.last else { throw CheckpointError.stackUnderflow(opcode: "DUP", offset: opcodeStart) }
                try push(top)

            case 0x4E: try push(.none)           // NONE
            case 0x88: try push(.bool(true))     // NEWTRUE
            case 0x89: try push(.bool(false))    // NEWFALSE
            case 0x4A:  // BININT: signed 32-bit
                try push(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4, "BININT")))))
            case 0x4B: try push(.int(Int(try littleEndian(1, "BININT1"))))
            case 0x4D: try push(.int(Int(try littleEndian(2, "BININT2"))))
            case 0x8A:  // LONG1: two's complement, little-endian, n bytes
                let n = Int(try littleEndian(1, "LONG1"))
                guard n <= 8 else { throw malformed("LONG1 integer of \(n) bytes does not fit 64 bits") }
                let raw = try littleEndian(n, "LONG1")
                let shift = UInt64(64 - 8 * n)
                try push(.int(n == 0 ? 0 : Int(Int64(bitPattern: raw << shift) >> Int64(shift))))
            case 0x47:  // BINFLOAT: big-endian IEEE double
                var raw: UInt64 = 0
                for byte in try take(8, "BINFLOAT") { raw = raw << 8 | UInt64(byte) }
                try push(.float(Double(bitPattern: raw)))
            case 0x58: try push(.string(try utf8(try length(4, "BINUNICODE"), "BINUNICODE")))
            case 0x8C: try push(.string(try utf8(try length(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE")))
            case 0x8D: try push(.string(try utf8(try length(8, "BINUNICODE8"), "BINUNICODE8")))
            case 0x42: try push(.bytes(Array(try take(try length(4, "BINBYTES"), "BINBYTES"))))
            case 0x43: try push(.bytes(Array(try take(try length(1, "SHORT_BINBYTES"), "SHORT_BINBYTES"))))

            case 0x29: try push(.box(try newBox(.tuple)))  // EMPTY_TUPLE
            case 0x74:  // TUPLE
                let items = try popMark("TUPLE")
                try push(try tuple(items))
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(opcode - 0x84)
                guard stack.count >= n else { throw CheckpointError.stackUnderflow(opcode: "TUPLE\(n)", offset: opcodeStart) }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try push(try tuple(items))
            case 0x5D: try push(.box(try newBox(.list)))  // EMPTY_LIST
            case 0x6C:  // LIST
                let items = try popMark("LIST")
                let box = try newBox(.list)
                box.elements = items
                try push(.box(box))
            case 0x61:  // APPEND
                let value = try pop("APPEND")
                try list(for: "APPEND").elements.append(value)
            case 0x65:  // APPENDS
                let values = try popMark("APPENDS")
                try list(for: "APPENDS").elements.append(contentsOf: values)
            case 0x7D: try push(.box(try newBox(.dict)))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popMark("DICT")
                let box = try newBox(.dict)
                box.pairs = try pairs(items, "DICT")
                try push(.box(box))
            case 0x73:  // SETITEM
                let value = try pop("SETITEM"), key = try pop("SETITEM")
                try dict(for: "SETITEM").pairs.append((key, value))
            case 0x75:  // SETITEMS
                let items = try popMark("SETITEMS")
                let newPairs = try pairs(items, "SETITEMS")
                try dict(for: "SETITEMS").pairs.append(contentsOf: newPairs)

            case 0x71: try memoPut(Int(try littleEndian(1, "BINPUT")), "BINPUT")
            case 0x72: try memoPut(Int(try littleEndian(4, "LONG_BINPUT")), "LONG_BINPUT")
            case 0x94: try memoPut(memo.count, "MEMOIZE")
            case 0x68: try memoGet(Int(try littleEndian(1, "BINGET")))
            case 0x6A: try memoGet(Int(try littleEndian(4, "LONG_BINGET")))

            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line("GLOBAL module"), name = try line("GLOBAL name")
                try push(try allowedGlobal(module, name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop("STACK_GLOBAL"), module = try pop("STACK_GLOBAL")
                guard case let .string(m) = module, case let .string(n) = name else {
                    throw malformed("STACK_GLOBAL needs two strings, got \(module.kindName) and \(name.kindName)")
                }
                try push(try allowedGlobal(m, n))
            case 0x52:  // REDUCE
                let arguments = try pop("REDUCE"), callable = try pop("REDUCE")
                try push(try reduce(callable, arguments))
            case 0x62:  // BUILD
                let state = try pop("BUILD")
                guard let target = stack.last else { throw CheckpointError.stackUnderflow(opcode: "BUILD", offset: opcodeStart) }
                try build(target, state)
            case 0x51:  // BINPERSID
                try push(try persistentLoad(try pop("BINPERSID")))
            default:
                throw CheckpointError.unknownOpcode(opcode: opcode, offset: opcodeStart)
            }
        }
    }

    // MARK: - Containers

    private mutating func tuple(_ items: [Item]) throws -> Item {
        let box = try newBox(.tuple)
        box.elements = items
        return .box(box)
    }

    private func list(for opcode: String) throws -> Box {
        guard case let .box(box)? = stack.last, box.kind == .list else {
            throw malformed("\(opcode) needs a list below its items, found \(stack.last?.kindName ?? "nothing")")
        }
        return box
    }

    private func dict(for opcode: String) throws -> Box {
        guard case let .box(box)? = stack.last, box.kind == .dict else {
            throw malformed("\(opcode) needs a dict below its items, found \(stack.last?.kindName ?? "nothing")")
        }
        return box
    }

    private func pairs(_ items: [Item], _ opcode: String) throws -> [(Item, Item)] {
        guard items.count.isMultiple(of: 2) else { throw malformed("\(opcode) has an odd number (\(items.count)) of items") }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    private func tupleElements(_ item: Item) -> [Item]? {
        if case let .box(box) = item, box.kind == .tuple { box.elements } else { nil }
    }

    // MARK: - Globals, REDUCE, BUILD, persistent ids

    private static let rebuildTensor = ("torch._utils", "_rebuild_tensor_v2")
    private static let rebuildParameter = ("torch._utils", "_rebuild_parameter")
    private static let orderedDict = ("collections", "OrderedDict")

    private func allowedGlobal(_ module: String, _ name: String) throws -> Item {
        let allowed =
            (module, name) == Self.orderedDict || (module, name) == Self.rebuildTensor
            || (module, name) == Self.rebuildParameter
            || (module == "torch" && StorageType(rawValue: name) != nil)
        guard allowed else { throw CheckpointError.forbiddenGlobal(module: module, name: name, offset: opcodeStart) }
        return .global(module, name)
    }

    private mutating func reduce(_ callable: Item, _ arguments: Item) throws -> Item {
        guard case let .global(module, name) = callable else {
            throw malformed("REDUCE of a \(callable.kindName), which is not callable")
        }
        guard let args = tupleElements(arguments) else {
            throw malformed("REDUCE arguments of \(module).\(name) are a \(arguments.kindName), not a tuple")
        }
        if (module, name) == Self.orderedDict {
            let box = try newBox(.dict)
            box.isOrdered = true
            if let initial = args.first {
                // OrderedDict(iterable of (key, value) pairs)
                guard args.count == 1, case let .box(source) = initial, source.kind != .dict else {
                    throw malformed("OrderedDict takes no arguments or one sequence of pairs")
                }
                // A memoised sequence can be passed again and again: every copy counts.
                try charge(objects: source.elements.count)
                for element in source.elements {
                    guard let pair = tupleElements(element), pair.count == 2 else {
                        throw malformed("OrderedDict initialiser element is not a (key, value) pair")
                    }
                    box.pairs.append((pair[0], pair[1]))
                }
            }
            return .box(box)
        }
        if (module, name) == Self.rebuildTensor {
            try charge(objects: 1)
            return .tensor(try rebuildTensor(args))
        }
        if (module, name) == Self.rebuildParameter {
            guard args.count >= 2, case var .tensor(tensor) = args[0], case let .bool(requiresGrad) = args[1] else {
                throw malformed("_rebuild_parameter expects (tensor, requires_grad, hooks)")
            }
            tensor.requiresGrad = requiresGrad
            try charge(objects: 1)
            return .tensor(tensor)
        }
        throw malformed("\(module).\(name) may be named but not called")
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private func rebuildTensor(_ args: [Item]) throws -> StoredTensor {
        guard args.count == 6 || args.count == 7 else {
            throw malformed("_rebuild_tensor_v2 expects 6 or 7 arguments, got \(args.count)")
        }
        guard case let .storage(storage) = args[0] else {
            throw malformed("_rebuild_tensor_v2 argument 0 is a \(args[0].kindName), not a storage")
        }
        guard case let .int(offset) = args[1] else { throw malformed("_rebuild_tensor_v2 storage_offset is not an int") }
        func integers(_ item: Item, _ what: String) throws -> [Int] {
            guard let elements = tupleElements(item) else { throw malformed("_rebuild_tensor_v2 \(what) is not a tuple") }
            return try elements.map {
                guard case let .int(v) = $0 else { throw malformed("_rebuild_tensor_v2 \(what) holds a \($0.kindName)") }
                return v
            }
        }
        let shape = try integers(args[2], "size"), strides = try integers(args[3], "stride")
        guard case let .bool(requiresGrad) = args[4] else { throw malformed("_rebuild_tensor_v2 requires_grad is not a bool") }
        let tensor = StoredTensor(storageKey: storage.key, storageType: storage.type, storageCount: storage.count,
                                  storageOffset: offset, shape: shape, strides: strides, requiresGrad: requiresGrad)
        try tensor.validate()
        return tensor
    }

    /// BUILD on a state dict sets attributes such as `_metadata`; nothing else may be built.
    private mutating func build(_ target: Item, _ state: Item) throws {
        guard case let .box(box) = target, box.kind == .dict else {
            throw malformed("BUILD on a \(target.kindName) is not allowed (only on dicts)")
        }
        guard case let .box(stateBox) = state, stateBox.kind == .dict else {
            throw malformed("BUILD state is a \(state.kindName), not a dict of attributes")
        }
        // The same memoised state can be built into a dict again and again: every copy counts.
        try charge(objects: stateBox.pairs.count)
        for (key, value) in stateBox.pairs {
            guard case let .string(name) = key else { throw malformed("BUILD attribute name is a \(key.kindName)") }
            box.attributes.append((name, value))
        }
    }

    /// `('storage', torch.<Type>Storage, key, location, numel)`.
    private mutating func persistentLoad(_ pid: Item) throws -> Item {
        guard let fields = tupleElements(pid), fields.count == 5, case .string("storage") = fields[0] else {
            throw malformed("persistent id is not ('storage', type, key, location, numel)")
        }
        guard case let .global("torch", typeName) = fields[1], let type = StorageType(rawValue: typeName) else {
            throw malformed("persistent id storage type is a \(fields[1].kindName)")
        }
        guard case let .string(key) = fields[2], case .string = fields[3], case let .int(count) = fields[4], count >= 0 else {
            throw malformed("persistent id key, location or numel has the wrong type")
        }
        if let (knownType, knownCount) = storageTypes[key] {
            guard knownType == type, knownCount == count else {
                throw malformed("storage '\(key)' is declared twice with different types or sizes")
            }
        } else {
            try resolveStorage(key, type, count)
            storageTypes[key] = (type, count)
        }
        return .storage(StorageReference(key: key, type: type, count: count))
    }

    // MARK: - Conversion to the public tree

    private func convert(_ item: Item, depth: Int, budget: inout Int) throws -> PickleValue {
        budget -= 1
        guard budget >= 0 else { throw malformed("object graph expands too far (shared references)") }
        guard depth <= Self.maximumDepth else {
            throw malformed("objects nest deeper than \(Self.maximumDepth) (or refer to themselves)")
        }
        switch item {
        case .none: return .none
        case let .bool(v): return .bool(v)
        case let .int(v): return .int(v)
        case let .float(v): return .float(v)
        case let .string(v): return .string(v)
        case let .bytes(v): return .bytes(v)
        case let .global(m, n): return .global(module: m, name: n)
        case let .tensor(t): return .tensor(t)
        case let .storage(s):
            // A bare storage: expose it as its whole 1-D contents.
            return .tensor(StoredTensor(storageKey: s.key, storageType: s.type, storageCount: s.count,
                                        storageOffset: 0, shape: [s.count], strides: [1], requiresGrad: false))
        case let .box(box):
            switch box.kind {
            case .list: return .list(try box.elements.map { try convert($0, depth: depth + 1, budget: &budget) })
            case .tuple: return .tuple(try box.elements.map { try convert($0, depth: depth + 1, budget: &budget) })
            case .dict:
                let items = try box.pairs.map {
                    PickleDictionary.Item(key: try convert($0.0, depth: depth + 1, budget: &budget),
                                          value: try convert($0.1, depth: depth + 1, budget: &budget))
                }
                let attributes = try box.attributes.map {
                    PickleDictionary.Attribute(name: $0.0, value: try convert($0.1, depth: depth + 1, budget: &budget))
                }
                return .dict(PickleDictionary(items: items, isOrdered: box.isOrdered, attributes: attributes))
            }
        }
    }
}
