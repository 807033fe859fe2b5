/// Writes the pickle opcodes of a state dict by hand (protocol 2, as `torch.save` does), so tests
/// can build hostile checkpoints that PyTorch would never write: any size, stride or offset.
struct PickleWriter {
    private(set) var bytes: [UInt8] = [0x80, 0x02]

    mutating func global(_ module: String, _ name: String) {
        bytes += [0x63] + Array("\(module)\n\(name)\n".utf8)
    }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes += [0x58] + (0..<4).map { UInt8(truncatingIfNeeded: utf8.count >> (8 * $0)) } + utf8
    }
    /// Any Int, as LONG1 with 8 bytes.
    mutating func int(_ v: Int) {
        bytes += [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }
    mutating func ints(_ values: [Int]) {
        bytes.append(0x28)  // MARK
        values.forEach { int($0) }
        bytes.append(0x74)  // TUPLE
    }
    /// `OrderedDict()`.
    mutating func emptyOrderedDict() {
        global("collections", "OrderedDict")
        bytes += [0x29, 0x52]  // EMPTY_TUPLE, REDUCE
    }
    /// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` over a float
    /// storage `key` of `count` elements.
    mutating func tensor(storage key: String, count: Int, offset: Int = 0, size: [Int], stride: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        bytes.append(0x28)  // MARK (arguments)
        bytes.append(0x28)  // MARK (persistent id)
        string("storage")
        global("torch", "FloatStorage")
        string(key)
        string("cpu")
        int(count)
        bytes += [0x74, 0x51]  // TUPLE, BINPERSID
        int(offset)
        ints(size)
        ints(stride)
        bytes.append(0x89)  // NEWFALSE
        emptyOrderedDict()
        bytes += [0x74, 0x52]  // TUPLE, REDUCE
    }

    /// `{name: tensor, …}` of float views of one storage, then STOP.
    static func stateDict(_ views: [(name: String, size: [Int], stride: [Int], offset: Int)],
                          storage key: String = "0", count: Int) -> [UInt8] {
        var w = PickleWriter()
        w.bytes += [0x7D, 0x28]  // EMPTY_DICT, MARK
        for view in views {
            w.string(view.name)
            w.tensor(storage: key, count: count, offset: view.offset, size: view.size, stride: view.stride)
        }
        w.bytes += [0x75, 0x2E]  // SETITEMS, STOP
        return w.bytes
    }

    /// A `.pth` archive of that pickle and one float storage of `count` elements.
    static func checkpoint(_ views: [(name: String, size: [Int], stride: [Int], offset: Int)], count: Int,
                           checksums: Bool = true) -> [UInt8] {
        let storage = [UInt8](repeating: 0, count: 4 * count)
        return StoredZipWriter.archive([("archive/data.pkl", stateDict(views, count: count)),
                                        ("archive/data/0", storage)], checksums: checksums)
    }
}
