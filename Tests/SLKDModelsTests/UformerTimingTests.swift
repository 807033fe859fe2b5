import Foundation
import Testing
import SLKDModels

/// Wall-clock timings of the Uformer presets at 1×3×128×128 (forward without gradients, and
/// forward + backward of an L1 loss). Opt-in: `SLKD_TIMING=1 swift test -c release --filter UformerTiming`.
@Suite("UformerTiming", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SLKD_TIMING"] == "1", "set SLKD_TIMING=1 to time Uformer"))
struct UformerTimingTests {
    static func median(_ runs: Int, _ body: () -> Void) -> Double {
        body()   // warm-up: caches, allocator, BLAS threads
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.sorted()[runs / 2]
    }

    @Test(arguments: [("Ufor-SL", Uformer.Configuration.uforSL, true), ("Uformer-B", Uformer.Configuration.uformerB, true)])
    func time(_ name: String, _ configuration: Uformer.Configuration, _ backward: Bool) throws {
        let env = ProcessInfo.processInfo.environment
        if let only = env["SLKD_TIMING_MODEL"], only != name { return }
        var g = RandomGenerator(seed: 11)
        let model = try Uformer(configuration, using: &g)
        model.eval()
        let runs = Int(env["SLKD_TIMING_RUNS"] ?? "") ?? 5
        let x = Tensor.uniform([1, 3, 128, 128], using: &g), target = Tensor.uniform([1, 3, 128, 128], using: &g)
        let forward = Self.median(runs) { _ = withoutGradients { model(x) } }
        var line = "\(name) 1×3×128×128: forward \(String(format: "%.1f", forward)) ms"
        if backward && env["SLKD_TIMING_FORWARD_ONLY"] != "1" {
            let both = Self.median(runs) {
                let loss = (model(x) - target).abs().mean()
                _ = loss.backward()
            }
            line += ", forward+backward \(String(format: "%.1f", both)) ms"
        }
        print(line)
    }
}
