import CFuzzDriver
import Foundation
import SLKDTensor

/// One input: any bytes must decode or throw ``SafeTensorsError`` (the typed throw guarantees the
/// type); a trap, a leak past -rss_limit_mb or a slow input is what libFuzzer reports.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? SafeTensors.decode(data)
    return 0
}

/// libFuzzer's driver over ``testOneInput(_:_:)``; its flags (-max_total_time, -rss_limit_mb…)
/// come from the command line.
@main enum Harness {
    static func main() { exit(slkd_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)) }
}
