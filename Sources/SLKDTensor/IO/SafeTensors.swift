import Foundation

/// Reading and writing the [safetensors](https://github.com/huggingface/safetensors) format,
/// in which PyTorch checkpoints of Restormer, Uformer and DRSformer are shared.
///
/// A file is an 8-byte little-endian header length `N`, `N` bytes of JSON mapping each tensor name
/// to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data section)
/// plus an optional `"__metadata__"` string map, then the data. Reading validates the header the
/// way the reference Rust implementation does — offsets inside the data, sizes matching dtype and
/// shape, tensors covering the data exactly with no overlap or gap — and reports every problem as
/// a ``SafeTensorsError``.
///
/// Floating-point tensors load as `float32` (`F16`, `BF16`, `F32`) or `float64` (`F64`); integer
/// and `BOOL` tensors load as `int64`.
///
/// ```swift
/// let checkpoint = try SafeTensors.read(from: url)
/// let w = checkpoint["encoder_level1.0.attn.qkv.weight"]
/// try SafeTensors.write(checkpoint.ordered, metadata: ["format": "pt"], to: outURL)
/// ```
public enum SafeTensors {
    /// The element types of the safetensors format (the `dtype` strings of the header).
    public enum ElementType: String, Sendable, CaseIterable {
        case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
        case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"
        case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", f8e8m0 = "F8_E8M0", f4 = "F4"
        case f6e2m3 = "F6_E2M3", f6e3m2 = "F6_E3M2", c64 = "C64"

        /// Bytes per element, or nil for the sub-byte formats (which ``Tensor`` cannot hold anyway).
        public var byteSize: Int? {
            switch self {
            case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0: 1
            case .i16, .u16, .f16, .bf16: 2
            case .i32, .u32, .f32: 4
            case .f64, .i64, .u64, .c64: 8
            case .f4, .f6e2m3, .f6e3m2: nil
            }
        }

        /// The ``DType`` a tensor of this type loads as, or nil when it cannot be loaded.
        public var loadedDType: DType? {
            switch self {
            case .f16, .bf16, .f32: .float32
            case .f64: .float64
            case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64: .int64
            case .u64, .f8e5m2, .f8e4m3, .f8e8m0, .f4, .f6e2m3, .f6e3m2, .c64: nil
            }
        }
    }

    /// How floating-point tensors are stored when writing. `int64` tensors are always `I64`.
    public enum FloatFormat: Sendable {
        /// `F32` for `float32` tensors, `F64` for `float64` ones.
        case native
        /// Single precision for every floating-point tensor.
        case f32
        /// Double precision for every floating-point tensor.
        case f64
        /// IEEE half precision, rounded to nearest even; magnitudes beyond 65504 become infinite.
        case f16
        /// bfloat16, rounded to nearest even.
        case bf16
    }

    /// The tensors and metadata of one safetensors file.
    public struct Contents: @unchecked Sendable {
        /// Tensor names in the order of their data in the file (the writer's order).
        public var names: [String]
        /// The tensors by name.
        public var tensors: [String: Tensor]
        /// The `__metadata__` map (empty when the file has none).
        public var metadata: [String: String]
        /// The element type each tensor was stored as.
        public var storedTypes: [String: ElementType]

        /// The tensor called `name`.
        public subscript(name: String) -> Tensor? { tensors[name] }

        /// Name–tensor pairs in file order, ready to be written back with `SafeTensors.write`.
        public var ordered: [(name: String, tensor: Tensor)] { names.map { ($0, tensors[$0]!) } }
    }

    /// The header length limit of the reference implementation.
    static let maximumHeaderSize: UInt64 = 100_000_000

    // MARK: Reading

    /// Reads and validates the safetensors file at `url`.
    ///
    /// - Parameters:
    ///   - url: the file.
    ///   - maximumBytes: the most tensor bytes the loaded tensors may take; by default a
    ///     ``ReadBudget`` derived from the file's size (widening `F16` or `U8` enlarges the data).
    public static func read(from url: URL, maximumBytes: Int? = nil) throws(SafeTensorsError) -> Contents {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(.unreadable(error.localizedDescription), path: url.path)
        }
        do {
            return try decode(data, maximumBytes: maximumBytes)
        } catch {
            throw SafeTensorsError(error.reason, path: url.path)
        }
    }

    /// Decodes and validates a safetensors file held in memory (see ``read(from:maximumBytes:)``).
    public static func decode(_ data: Data, maximumBytes: Int? = nil) throws(SafeTensorsError) -> Contents {
        let result: Result<Contents, SafeTensorsError> = data.withUnsafeBytes { raw in
            Result { () throws(SafeTensorsError) in try decodeBuffer(raw, maximumBytes: maximumBytes) }
        }
        return try result.get()
    }

    private struct Entry {
        var key: String
        var type: ElementType
        var shape: [Int]
        var count: Int
        var begin: Int
        var end: Int
    }

    private static func decodeBuffer(_ raw: UnsafeRawBufferPointer, maximumBytes: Int?) throws(SafeTensorsError) -> Contents {
        var budget = ReadBudget(inputByteCount: raw.count, maximumBytes: maximumBytes)
        guard raw.count >= 8 else { throw SafeTensorsError(.fileTooSmall(byteCount: raw.count)) }
        let declared = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        guard declared <= maximumHeaderSize else { throw SafeTensorsError(.headerTooLarge(declared: declared)) }
        guard declared <= UInt64(raw.count - 8) else {
            throw SafeTensorsError(.headerLengthExceedsFile(declared: declared, available: raw.count - 8))
        }
        let headerSize = Int(declared)
        let header = UnsafeRawBufferPointer(rebasing: raw[8..<(8 + headerSize)])
        let body = UnsafeRawBufferPointer(rebasing: raw[(8 + headerSize)...])

        let json: HeaderJSON
        do {
            json = try HeaderJSON.parse(header)
        } catch {
            throw SafeTensorsError(.invalidJSON(error.description))
        }
        guard case .object(let members) = json else { throw SafeTensorsError(.headerNotObject) }

        var seen = Set<String>()
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for member in members {
            let (key, value) = (member.key, member.value)
            guard seen.insert(key).inserted else { throw SafeTensorsError(.duplicateKey(key)) }
            if key == "__metadata__" {
                metadata = try parseMetadata(value)
            } else {
                entries.append(try parseEntry(key, value, dataSize: body.count))
            }
        }

        // The tensors must tile the data section: sorted by offsets, each begins where the last ended.
        let order = entries.indices.sorted {
            (entries[$0].begin, entries[$0].end, $0) < (entries[$1].begin, entries[$1].end, $1)
        }
        var position = 0
        var previous: String?
        for i in order {
            let e = entries[i]
            if e.begin < position { throw SafeTensorsError(.overlap(key: e.key, previous: previous ?? "")) }
            if e.begin > position {
                throw SafeTensorsError(.gap(key: e.key, previous: previous, byteCount: e.begin - position))
            }
            position = e.end
            previous = e.key
        }
        guard position == body.count else { throw SafeTensorsError(.trailingBytes(count: body.count - position)) }

        var tensors: [String: Tensor] = [:]
        var storedTypes: [String: ElementType] = [:]
        for e in entries {
            // Validation bounded the count; the budget bounds what widening makes of it.
            let loadedSize = e.type.loadedDType?.byteSize ?? 8
            do {
                try budget.charge(elements: e.count, ofSize: loadedSize, for: "tensor '\(e.key)'")
            } catch {
                throw SafeTensorsError(.budgetExceeded(error))
            }
            tensors[e.key] = try makeTensor(e, UnsafeRawBufferPointer(rebasing: body[e.begin..<e.end]))
            storedTypes[e.key] = e.type
        }
        return Contents(names: order.map { entries[$0].key }, tensors: tensors,
                        metadata: metadata, storedTypes: storedTypes)
    }

    private static func parseMetadata(_ value: HeaderJSON) throws(SafeTensorsError) -> [String: String] {
        guard case .object(let members) = value else {
            throw SafeTensorsError(.invalidMetadata("expected an object of strings, found \(value.kindName)"))
        }
        var metadata: [String: String] = [:]
        for member in members {
            let (key, v) = (member.key, member.value)
            guard case .string(let s) = v else {
                throw SafeTensorsError(.invalidMetadata("value of '\(key)' is \(v.kindName), not a string"))
            }
            guard metadata.updateValue(s, forKey: key) == nil else {
                throw SafeTensorsError(.invalidMetadata("key '\(key)' appears twice"))
            }
        }
        return metadata
    }

    private static func parseEntry(_ key: String, _ value: HeaderJSON, dataSize: Int) throws(SafeTensorsError) -> Entry {
        func invalid(_ problem: String) -> SafeTensorsError { SafeTensorsError(.invalidEntry(key: key, problem: problem)) }
        guard case .object(let fields) = value else { throw invalid("expected an object, found \(value.kindName)") }
        func field(_ name: String) throws(SafeTensorsError) -> HeaderJSON {
            let matches = fields.filter { $0.key == name }
            guard matches.count == 1 else {
                throw invalid(matches.isEmpty ? "missing \"\(name)\"" : "\"\(name)\" appears twice")
            }
            return matches[0].value
        }
        func naturals(_ name: String) throws(SafeTensorsError) -> [Int] {
            guard case .array(let items) = try field(name) else { throw invalid("\"\(name)\" is not an array") }
            var result: [Int] = []
            for item in items {
                guard case .integer(let v) = item, v >= 0 else {
                    throw invalid("\"\(name)\" must hold non-negative integers, found \(item)")
                }
                result.append(v)
            }
            return result
        }

        guard case .string(let dtypeName) = try field("dtype") else { throw invalid("\"dtype\" is not a string") }
        let shape = try naturals("shape")
        let offsets = try naturals("data_offsets")
        guard offsets.count == 2 else { throw invalid("\"data_offsets\" must hold 2 integers, found \(offsets.count)") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw invalid("data_offsets [\(begin), \(end)] begin after they end") }
        guard let type = ElementType(rawValue: dtypeName) else {
            throw SafeTensorsError(.unknownDType(key: key, dtype: dtypeName))
        }
        guard type.loadedDType != nil, let size = type.byteSize else {
            throw SafeTensorsError(.unsupportedDType(key: key, dtype: dtypeName))
        }
        // Every nonzero size counts: a 0 first must not hide the overflow the strides would hit.
        guard let count = Shape.checkedCount(shape) else { throw invalid("shape \(shape) overflows") }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw invalid("shape \(shape) overflows") }
        guard end - begin == bytes else {
            throw SafeTensorsError(.sizeMismatch(key: key, expectedBytes: bytes, actualBytes: end - begin))
        }
        guard end <= dataSize else {
            throw SafeTensorsError(.offsetsOutOfBounds(key: key, begin: begin, end: end, dataSize: dataSize))
        }
        return Entry(key: key, type: type, shape: shape, count: count, begin: begin, end: end)
    }

    /// Copies a validated entry's little-endian bytes into a new tensor.
    private static func makeTensor(_ e: Entry, _ bytes: UnsafeRawBufferPointer) throws(SafeTensorsError) -> Tensor {
        func floats(_ convert: @escaping (UnsafeRawBufferPointer, Int) -> Float) -> Tensor {
            Tensor.make(e.shape, Float.self) { out in
                for i in out.indices { out[i] = convert(bytes, i) }
            }
        }
        func integers(_ convert: @escaping (UnsafeRawBufferPointer, Int) -> Int64) -> Tensor {
            Tensor.make(e.shape, Int64.self, dtype: .int64) { out in
                for i in out.indices { out[i] = convert(bytes, i) }
            }
        }
        func load<T: FixedWidthInteger>(_ b: UnsafeRawBufferPointer, _ i: Int, _: T.Type) -> T {
            T(littleEndian: b.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        #if _endian(little)
        // The file's byte order is the host's: one copy (`bytes.count` was validated against the shape).
        switch e.type {
        case .f32: return Tensor.make(e.shape, Float.self) { UnsafeMutableRawBufferPointer($0).copyMemory(from: bytes) }
        case .f64: return Tensor.make(e.shape, Double.self) { UnsafeMutableRawBufferPointer($0).copyMemory(from: bytes) }
        case .i64:
            return Tensor.make(e.shape, Int64.self, dtype: .int64) { UnsafeMutableRawBufferPointer($0).copyMemory(from: bytes) }
        default: break
        }
        #endif
        switch e.type {
        case .f32: return floats { Float(bitPattern: load($0, $1, UInt32.self)) }
        case .f16: return floats { HalfPrecision.float(fromHalf: load($0, $1, UInt16.self)) }
        case .bf16: return floats { HalfPrecision.float(fromBFloat16: load($0, $1, UInt16.self)) }
        case .f64:
            return Tensor.make(e.shape, Double.self) { out in
                for i in out.indices { out[i] = Double(bitPattern: load(bytes, i, UInt64.self)) }
            }
        case .i64: return integers { load($0, $1, Int64.self) }
        case .i32: return integers { Int64(load($0, $1, Int32.self)) }
        case .u32: return integers { Int64(load($0, $1, UInt32.self)) }
        case .i16: return integers { Int64(load($0, $1, Int16.self)) }
        case .u16: return integers { Int64(load($0, $1, UInt16.self)) }
        case .i8: return integers { Int64(load($0, $1, Int8.self)) }
        case .u8: return integers { Int64(load($0, $1, UInt8.self)) }
        case .bool: return integers { load($0, $1, UInt8.self) != 0 ? 1 : 0 }
        case .u64, .f8e5m2, .f8e4m3, .f8e8m0, .f4, .f6e2m3, .f6e3m2, .c64:
            // parseEntry refuses these; an error rather than a trap keeps that true if it changes.
            throw SafeTensorsError(.unsupportedDType(key: e.key, dtype: e.type.rawValue))
        }
    }

    // MARK: Writing

    /// Encodes tensors, in the given order, as a safetensors file in memory.
    ///
    /// - Parameters:
    ///   - tensors: names and tensors; the data is laid out in this order.
    ///   - metadata: the `__metadata__` map, omitted when nil or empty.
    ///   - floatFormat: how floating-point tensors are stored.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String]? = nil,
                              floatFormat: FloatFormat = .native) throws(SafeTensorsError) -> Data {
        var seen = Set<String>()
        for (name, _) in tensors {
            guard !name.isEmpty else { throw SafeTensorsError(.invalidTensorName("empty name")) }
            guard name != "__metadata__" else {
                throw SafeTensorsError(.invalidTensorName("'__metadata__' is reserved for the metadata map"))
            }
            guard seen.insert(name).inserted else { throw SafeTensorsError(.invalidTensorName("'\(name)' given twice")) }
        }

        var types: [ElementType] = []
        var offsets: [Int] = [0]
        for (_, t) in tensors {
            let type: ElementType = switch (t.dtype, floatFormat) {
            case (.int64, _): .i64
            case (.float32, .native), (_, .f32): .f32
            case (.float64, .native), (_, .f64): .f64
            case (_, .f16): .f16
            case (_, .bf16): .bf16
            }
            types.append(type)
            offsets.append(offsets.last! + t.count * type.byteSize!)
        }

        var header = "{"
        var firstMember = true
        func member(_ key: String, _ value: String) {
            header += (firstMember ? "" : ",") + jsonString(key) + ":" + value
            firstMember = false
        }
        if let metadata, !metadata.isEmpty {
            member("__metadata__", "{" + metadata.keys.sorted().map { jsonString($0) + ":" + jsonString(metadata[$0]!) }
                .joined(separator: ",") + "}")
        }
        for (i, (name, t)) in tensors.enumerated() {
            member(name, "{\"dtype\":\"\(types[i].rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(offsets[i]),\(offsets[i + 1])]}")
        }
        header += "}"
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        var headerBytes = Array(header.utf8)
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))

        var data = Data(count: 8 + headerBytes.count + offsets.last!)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            raw.storeBytes(of: UInt64(headerBytes.count).littleEndian, as: UInt64.self)
            headerBytes.withUnsafeBytes { raw.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let body = raw.baseAddress!.advanced(by: 8 + headerBytes.count)
            for (i, (_, t)) in tensors.enumerated() {
                store(t.detached(), as: types[i], into: body.advanced(by: offsets[i]))
            }
        }
        return data
    }

    /// Encodes tensors, ordered by name, as a safetensors file in memory.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String]? = nil,
                              floatFormat: FloatFormat = .native) throws(SafeTensorsError) -> Data {
        try encode(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: metadata, floatFormat: floatFormat)
    }

    /// Writes tensors, in the given order, to a safetensors file at `url`.
    ///
    /// The file is replaced atomically: the bytes go to a temporary file in the same directory,
    /// are flushed to disk and renamed over `url`. If anything fails, `url` keeps its old contents
    /// and no temporary file is left behind.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String]? = nil,
                             floatFormat: FloatFormat = .native, to url: URL) throws(SafeTensorsError) {
        let data: Data
        do {
            data = try encode(tensors, metadata: metadata, floatFormat: floatFormat)
        } catch {
            throw SafeTensorsError(error.reason, path: url.path)
        }
        do {
            try AtomicFile.write(data, to: url)
        } catch {
            throw SafeTensorsError(.writeFailed(error.description), path: url.path)
        }
    }

    /// Writes tensors, ordered by name, to a safetensors file at `url`, atomically like the
    /// ordered form.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String]? = nil,
                             floatFormat: FloatFormat = .native, to url: URL) throws(SafeTensorsError) {
        try write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: metadata,
                  floatFormat: floatFormat, to: url)
    }

    /// Stores a tensor's elements little-endian as `type` at `destination` (unaligned).
    private static func store(_ t: Tensor, as type: ElementType, into destination: UnsafeMutableRawPointer) {
        func put<T: FixedWidthInteger>(_ value: T, _ i: Int) {
            destination.storeBytes(of: value.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self)
        }
        #if _endian(little)
        if (t.dtype, type) == (.float32, .f32) || (t.dtype, type) == (.float64, .f64) || t.dtype == .int64 {
            let count = t.count * t.dtype.byteSize
            func copy<E>(_: E.Type) {
                t.withContiguousScalars(E.self) { destination.copyMemory(from: UnsafeRawPointer($0.baseAddress!), byteCount: count) }
            }
            t.dtype.withElementType { copy($0) }
            return
        }
        #endif
        switch (t.dtype, type) {
        case (.int64, _):
            t.withContiguousScalars(Int64.self) { for (i, v) in $0.enumerated() { put(v, i) } }
        case (.float64, .f64):
            t.withContiguousScalars(Double.self) { for (i, v) in $0.enumerated() { put(v.bitPattern, i) } }
        case (.float32, .f32):
            t.withContiguousScalars(Float.self) { for (i, v) in $0.enumerated() { put(v.bitPattern, i) } }
        case (.float32, .f64):
            t.withContiguousScalars(Float.self) { for (i, v) in $0.enumerated() { put(Double(v).bitPattern, i) } }
        case (.float64, .f32):
            t.withContiguousScalars(Double.self) { for (i, v) in $0.enumerated() { put(Float(v).bitPattern, i) } }
        case (_, .f16), (_, .bf16):
            // float64 → float32 → half rounds twice; the float32 step matches PyTorch's `.float().half()`.
            let toHalf = type == .f16
            let narrow: (Float) -> UInt16 = { toHalf ? HalfPrecision.half(from: $0) : HalfPrecision.bfloat16(from: $0) }
            if t.dtype == .float32 {
                t.withContiguousScalars(Float.self) { for (i, v) in $0.enumerated() { put(narrow(v), i) } }
            } else {
                t.withContiguousScalars(Double.self) { for (i, v) in $0.enumerated() { put(narrow(Float(v)), i) } }
            }
        default:
            preconditionFailure("no conversion from \(t.dtype) to \(type)")
        }
    }

    /// A JSON string literal.
    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
