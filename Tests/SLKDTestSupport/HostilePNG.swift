import Foundation

/// PNG files a hostile user could hand SLKD, built by the tests that need them.
public enum HostilePNG {
    /// CRC-32 (ISO-HDLC), as PNG chunks carry it.
    public static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A valid 1×1 gray PNG whose header then claims `width`×`height` (with its CRC fixed): under
    /// 200 bytes announcing an image of any size, as a decompression bomb's header would.
    public static func claiming(width: UInt32, height: UInt32) throws -> Data {
        var bytes = [UInt8](try ImageIO.encodePNG(Tensor(shape: [1, 1, 1], scalars: [0.0])))
        // Signature (8), IHDR length (4), "IHDR" (4), then width and height, big-endian; the
        // chunk's CRC covers its type and data (bytes 12..<29) and follows them.
        func put(_ value: UInt32, at offset: Int) {
            for k in 0..<4 { bytes[offset + k] = UInt8((value >> (24 - 8 * UInt32(k))) & 0xFF) }
        }
        put(width, at: 16)
        put(height, at: 20)
        put(crc32(bytes[12..<29]), at: 29)
        return Data(bytes)
    }
}
