import CFuzzDriver
import Foundation
import SLKDDistill

/// One input as an options file's text (the YAML parser, then every field's validation).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = bytes.map { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) } ?? ""
    _ = try? TrainingOptions(yaml: text, baseFolder: URL(fileURLWithPath: "/nonexistent"), file: "fuzz.yml")
    return 0
}

/// libFuzzer's driver over ``testOneInput(_:_:)``; its flags (-max_total_time, -rss_limit_mb…)
/// come from the command line.
@main enum Harness {
    static func main() { exit(slkd_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)) }
}
