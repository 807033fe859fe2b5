import CFuzzDriver
import Foundation
import SLKDTensor

/// One input as a PNG file, decoded as stored and as RGB (the conversion paths differ).
///
/// libpng checks every chunk's CRC-32 and is not instrumented, so a mutated chunk would almost
/// always stop at its CRC; the harness first writes the right CRC into every whole chunk, so that
/// the fuzzer's changes reach the header, palette and image-data parsing behind it.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var png = bytes.map { [UInt8](UnsafeBufferPointer(start: $0, count: count)) } ?? []
    fixChunkChecksums(&png)
    let data = Data(png)
    _ = try? ImageIO.decodePNG(data, channels: .stored)
    _ = try? ImageIO.decodePNG(data, channels: .rgb)
    return 0
}

/// Chunks follow the 8-byte signature: a big-endian length, a 4-byte type, the data, then the
/// CRC-32 of type and data.
private func fixChunkChecksums(_ png: inout [UInt8]) {
    var chunk = 8
    while chunk + 12 <= png.count {
        let length = png[chunk..<(chunk + 4)].reduce(0) { $0 << 8 | Int($1) }
        let end = chunk + 8 + length
        guard length >= 0, end + 4 <= png.count else { return }
        let crc = crc32(png[(chunk + 4)..<end])
        for i in 0..<4 { png[end + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
        chunk = end + 4
    }
}

/// CRC-32 as PNG and zip use it (reflected polynomial 0xEDB88320), bit by bit: inputs are small.
private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        c ^= UInt32(byte)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
}

/// libFuzzer's driver over ``testOneInput(_:_:)``; its flags (-max_total_time, -rss_limit_mb…)
/// come from the command line.
@main enum Harness {
    static func main() { exit(slkd_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)) }
}
