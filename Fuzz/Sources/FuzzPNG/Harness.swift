import CFuzzDriver
import Foundation
import SLKDTensor

/// One input as a PNG file, decoded as stored and as RGB (the conversion paths differ).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? ImageIO.decodePNG(data, channels: .stored)
    _ = try? ImageIO.decodePNG(data, channels: .rgb)
    return 0
}

/// libFuzzer's driver over ``testOneInput(_:_:)``; its flags (-max_total_time, -rss_limit_mb…)
/// come from the command line.
@main enum Harness {
    static func main() { exit(slkd_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)) }
}
