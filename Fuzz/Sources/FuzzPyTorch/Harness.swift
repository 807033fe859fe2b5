import CFuzzDriver
import Foundation
import SLKDModels

/// One input as a whole `.pth` archive: the zip reader, the restricted unpickler and, when they
/// accept it, every tensor of the state dict (views, widening, CRCs and the read budget).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = bytes.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    for verify in [true, false] {
        guard let checkpoint = try? PyTorchCheckpoint(bytes: input, options: .init(verifyChecksums: verify)) else { continue }
        _ = try? checkpoint.stateDict(.automatic)
        _ = try? checkpoint.stateDict(.root)
    }
    return 0
}

/// libFuzzer's driver over ``testOneInput(_:_:)``; its flags (-max_total_time, -rss_limit_mb…)
/// come from the command line.
@main enum Harness {
    static func main() { exit(slkd_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)) }
}
