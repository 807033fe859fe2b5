/// A strict reader for the zip archives `torch.save` writes: stored (uncompressed) entries, found
/// through the central directory, with zip64 records where sizes need them.
///
/// Only what a checkpoint needs is implemented, and every offset and length read from the file is
/// checked against the file before use; compressed or encrypted entries are typed errors rather
/// than a reason to pull in a deflate dependency (`torch.save` never compresses).
struct StoredZipArchive {
    /// One stored entry: its bytes are `bytes[dataRange]`.
    struct Entry {
        let name: String
        let dataRange: Range<Int>
        let crc32: UInt32
    }

    let bytes: [UInt8]
    /// Entries in central-directory order.
    let entries: [Entry]
    private let index: [String: Int]

    init(bytes: [UInt8]) throws {
        self.bytes = bytes
        let directory = try Self.locateCentralDirectory(bytes)
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var cursor = directory.offset
        let end = directory.offset + directory.size
        guard directory.count <= bytes.count / 46 + 1 else {
            throw CheckpointError.malformedArchive("central directory claims \(directory.count) entries")
        }
        for _ in 0..<directory.count {
            let entry = try Self.readEntry(bytes, at: &cursor, directoryEnd: end)
            guard index[entry.name] == nil else {
                throw CheckpointError.malformedArchive("duplicate entry '\(entry.name)'")
            }
            index[entry.name] = entries.count
            entries.append(entry)
        }
        self.entries = entries
        self.index = index
    }

    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The entry's bytes, optionally checked against its CRC-32.
    func contents(of entry: Entry, verify: Bool) throws -> ArraySlice<UInt8> {
        let slice = bytes[entry.dataRange]
        if verify, CRC32.checksum(slice) != entry.crc32 {
            throw CheckpointError.checksumMismatch(name: entry.name)
        }
        return slice
    }

    // MARK: - Central directory

    private static let endOfDirectorySignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let directorySignature: UInt32 = 0x0201_4B50
    private static let localHeaderSignature: UInt32 = 0x0403_4B50

    private static func locateCentralDirectory(_ b: [UInt8]) throws -> (offset: Int, size: Int, count: Int) {
        guard b.count >= 22 else {
            if b.count >= 2, b[0] == 0x80 { throw CheckpointError.legacyFormat }
            throw CheckpointError.notAZipArchive("file is only \(b.count) bytes")
        }
        // The end record is the last 22 bytes plus a comment of at most 65535 bytes.
        var position = b.count - 22
        let lowest = max(0, b.count - 22 - 65535)
        var found: Int?
        while position >= lowest {
            if b[position] == 0x50, read32(b, position) == endOfDirectorySignature,
               position + 22 + Int(read16(b, position + 20)) == b.count {
                found = position
                break
            }
            position -= 1
        }
        guard let eocd = found else {
            if b[0] == 0x80 { throw CheckpointError.legacyFormat }
            throw CheckpointError.notAZipArchive("no end-of-central-directory record (truncated file?)")
        }
        var count = Int(read16(b, eocd + 10))
        var size = Int(read32(b, eocd + 12))
        var offset = Int(read32(b, eocd + 16))
        let disk = read16(b, eocd + 4), directoryDisk = read16(b, eocd + 6)
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            // Zip64: the locator sits just before the end record and points at the zip64 end record.
            let locator = eocd - 20
            guard locator >= 0, read32(b, locator) == zip64LocatorSignature else {
                throw CheckpointError.malformedArchive("zip64 sizes without a zip64 locator")
            }
            let end64 = try checkedInt(read64(b, locator + 8), "zip64 end record offset")
            guard end64 >= 0, end64 <= b.count - 56, read32(b, end64) == zip64EndSignature else {
                throw CheckpointError.malformedArchive("zip64 end record offset \(end64) is invalid")
            }
            count = try checkedInt(read64(b, end64 + 32), "zip64 entry count")
            size = try checkedInt(read64(b, end64 + 40), "zip64 directory size")
            offset = try checkedInt(read64(b, end64 + 48), "zip64 directory offset")
        } else if disk != 0 || directoryDisk != 0 {
            throw CheckpointError.malformedArchive("multi-disk archives are not supported")
        }
        guard offset >= 0, size >= 0, offset <= b.count, size <= b.count - offset else {
            throw CheckpointError.malformedArchive(
                "central directory (offset \(offset), size \(size)) lies outside the \(b.count)-byte file")
        }
        return (offset, size, count)
    }

    private static func readEntry(_ b: [UInt8], at cursor: inout Int, directoryEnd: Int) throws -> Entry {
        let start = cursor
        guard directoryEnd - start >= 46, read32(b, start) == directorySignature else {
            throw CheckpointError.malformedArchive("bad central directory record at byte \(start)")
        }
        let flags = read16(b, start + 8)
        let method = Int(read16(b, start + 10))
        let crc = read32(b, start + 16)
        var compressedSize = Int(read32(b, start + 20))
        var size = Int(read32(b, start + 24))
        let nameLength = Int(read16(b, start + 28))
        let extraLength = Int(read16(b, start + 30))
        let commentLength = Int(read16(b, start + 32))
        var localOffset = Int(read32(b, start + 42))
        let recordEnd = start + 46 + nameLength + extraLength + commentLength
        guard recordEnd <= directoryEnd else {
            throw CheckpointError.malformedArchive("central directory record at byte \(start) runs past the directory")
        }
        guard let name = decodeUTF8(b[(start + 46)..<(start + 46 + nameLength)]) else {
            throw CheckpointError.malformedArchive("entry name at byte \(start) is not UTF-8")
        }
        // Zip64 extra field (id 1): 8-byte values for exactly those fields that read 0xFFFFFFFF.
        var extra = start + 46 + nameLength
        let extraEnd = extra + extraLength
        while extraEnd - extra >= 4 {
            let id = read16(b, extra), length = Int(read16(b, extra + 2))
            let body = extra + 4
            guard body + length <= extraEnd else {
                throw CheckpointError.malformedArchive("extra field of '\(name)' runs past its record")
            }
            if id == 1 {
                var field = body
                func next(_ what: String) throws -> Int {
                    guard field + 8 <= body + length else {
                        throw CheckpointError.malformedArchive("zip64 field of '\(name)' lacks its \(what)")
                    }
                    defer { field += 8 }
                    return try checkedInt(read64(b, field), "zip64 \(what) of '\(name)'")
                }
                if size == 0xFFFF_FFFF { size = try next("size") }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try next("compressed size") }
                if localOffset == 0xFFFF_FFFF { localOffset = try next("header offset") }
            }
            extra = body + length
        }
        if flags & 1 != 0 { throw CheckpointError.encryptedEntry(name: name) }
        if method != 0 { throw CheckpointError.compressedEntry(name: name, method: method) }
        guard compressedSize == size else {
            throw CheckpointError.malformedArchive("stored entry '\(name)' has compressed size \(compressedSize) ≠ size \(size)")
        }
        // The data starts after the local header, whose name and extra lengths may differ from the
        // central record's (torch pads the local extra field to align storages to 64 bytes).
        guard localOffset >= 0, localOffset <= b.count - 30, read32(b, localOffset) == localHeaderSignature else {
            throw CheckpointError.malformedArchive("local header of '\(name)' at byte \(localOffset) is invalid")
        }
        let dataStart = localOffset + 30 + Int(read16(b, localOffset + 26)) + Int(read16(b, localOffset + 28))
        guard dataStart <= b.count, size <= b.count - dataStart else {
            throw CheckpointError.malformedArchive(
                "entry '\(name)' (\(size) bytes at byte \(dataStart)) runs past the end of the \(b.count)-byte file")
        }
        cursor = recordEnd
        return Entry(name: name, dataRange: dataStart..<(dataStart + size), crc32: crc)
    }

    private static func checkedInt(_ value: UInt64, _ what: String) throws -> Int {
        guard value <= UInt64(Int.max) else { throw CheckpointError.malformedArchive("\(what) \(value) is too large") }
        return Int(value)
    }
}

// Little-endian reads; callers have checked the range.
@inline(__always) private func read16(_ b: [UInt8], _ i: Int) -> UInt16 {
    UInt16(b[i]) | UInt16(b[i + 1]) << 8
}
@inline(__always) private func read32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
}
@inline(__always) private func read64(_ b: [UInt8], _ i: Int) -> UInt64 {
    UInt64(read32(b, i)) | UInt64(read32(b, i + 4)) << 32
}

/// CRC-32 (IEEE 802.3, the zip polynomial), table driven.
package enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    package static func checksum(_ data: ArraySlice<UInt8>) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            data.withUnsafeBufferPointer { bytes in
                var c: UInt32 = 0xFFFF_FFFF
                for byte in bytes { c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
                return c ^ 0xFFFF_FFFF
            }
        }
    }
}

/// Strict UTF-8 decoding (nil on invalid bytes, where `String(decoding:)` would substitute U+FFFD).
/// `String(validating:as:)` would do, but needs macOS 15.
func decodeUTF8(_ bytes: ArraySlice<UInt8>) -> String? {
    let text = String(decoding: bytes, as: UTF8.self)
    return text.utf8.elementsEqual(bytes) ? text : nil
}
