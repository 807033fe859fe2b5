import Foundation

/// Appends records in TensorFlow's TFRecord framing, the layout of TensorBoard's events files:
/// the payload's length (little-endian UInt64), the masked CRC-32C of those 8 bytes, the payload,
/// and the masked CRC-32C of the payload.
package struct TFRecordWriter {
    private let handle: FileHandle

    /// Creates (or truncates) the file at `url`.
    init(creating url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
    }

    /// Appends one record and flushes it to the file, so TensorBoard sees it while training runs.
    func append(_ payload: Data) throws {
        var length = UInt64(payload.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Data($0) }
        var record = lengthBytes
        record.append(Self.littleEndianBytes(Self.maskedCRC32C(lengthBytes)))
        record.append(payload)
        record.append(Self.littleEndianBytes(Self.maskedCRC32C(payload)))
        try handle.write(contentsOf: record)
        try handle.synchronize()
    }

    func close() throws { try handle.close() }

    /// The payloads of every record in a TFRecord file, checking both checksums of each.
    static func records(in data: Data) throws -> [Data] {
        var records: [Data] = [], offset = data.startIndex
        func take(_ count: Int) throws -> Data {
            guard count >= 0, data.endIndex - offset >= count else { throw CocoaError(.fileReadCorruptFile) }
            defer { offset += count }
            return data[offset..<(offset + count)]
        }
        func uint32(_ bytes: Data) -> UInt32 { bytes.reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        while offset < data.endIndex {
            let lengthBytes = try take(8)
            let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard uint32(try take(4)) == maskedCRC32C(lengthBytes), length <= UInt64(data.count) else {
                throw CocoaError(.fileReadCorruptFile)
            }
            let payload = try take(Int(length))
            guard uint32(try take(4)) == maskedCRC32C(payload) else { throw CocoaError(.fileReadCorruptFile) }
            records.append(Data(payload))
        }
        return records
    }

    private static func littleEndianBytes(_ value: UInt32) -> Data {
        var v = value.littleEndian
        return withUnsafeBytes(of: &v) { Data($0) }
    }

    /// TFRecord's masking of a CRC: rotated right by 15 bits plus a constant, so that a CRC of
    /// data that itself holds CRCs does not degenerate.
    package static func maskedCRC32C(_ data: Data) -> UInt32 {
        let crc = crc32c(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    /// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), byte-wise through a table.
    package static func crc32c(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }
}
