import CFuzzDriver
import Foundation
import SLKDDistill

/// One input as a training checkpoint. Random bytes rarely make a safetensors file with JSON
/// metadata, so the first byte picks what the rest is: a whole checkpoint file (odd), or the
/// `slkd.training` metadata text packed with a small optimizer state (even), which reaches the
/// training-state decoding, its counters and generators every time.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes, count > 0 else { return 0 }
    let rest = Data(bytes: bytes + 1, count: count - 1)
    let file: Data
    if bytes[0] & 1 == 1 {
        file = rest
    } else {
        let tensors = [("model.w", Tensor(shape: [2], scalars: [1, 2] as [Float])),
                       ("optimizer.step", Tensor(shape: [], indices: [Int(bytes[0])]))]
        guard let packed = try? SafeTensors.encode(tensors, metadata: ["slkd.training": String(decoding: rest, as: UTF8.self)])
        else { return 0 }
        file = packed
    }
    guard let contents = try? SafeTensors.decode(file) else { return 0 }
    _ = try? TrainingCheckpointFile.parse(contents, path: "fuzz.safetensors")
    return 0
}

/// libFuzzer's driver over ``testOneInput(_:_:)``; its flags (-max_total_time, -rss_limit_mb…)
/// come from the command line.
@main enum Harness {
    static func main() { exit(slkd_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)) }
}
