import Foundation
import Testing
import SLKDModels

/// Forward and forward+backward times of Restormer and Res-SL at 1×3×128×128 (README speed
/// check). Runs only with `SLKD_TIMING=1` (it takes seconds and measures, not checks):
///
///     SLKD_TIMING=1 [SLKD_TIMING_MODEL=Res-SL] swift test -c release --skip-build --filter RestormerTiming
@Suite("Restormer timing", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SLKD_TIMING"] == "1",
                                    "set SLKD_TIMING=1 to time Restormer"))
struct RestormerTimingTests {
    static func median(_ runs: Int, _ body: () -> Void) -> Double {
        body()   // warm-up
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.sorted()[runs / 2]
    }

    @Test(arguments: [("Res-SL", Restormer.Configuration.resSL), ("Restormer", Restormer.Configuration.restormer)])
    func time(_ name: String, _ configuration: Restormer.Configuration) {
        // SLKD_TIMING_MODEL=Res-SL (or Restormer) times one of the two.
        if let only = ProcessInfo.processInfo.environment["SLKD_TIMING_MODEL"], only != name { return }
        let size = Int(ProcessInfo.processInfo.environment["SLKD_TIMING_SIZE"] ?? "128")!
        let runs = Int(ProcessInfo.processInfo.environment["SLKD_TIMING_RUNS"] ?? "3")!
        let model = Restormer(configuration, seed: 0)
        model.eval()
        var generator = RandomGenerator(seed: 1)
        let x = Tensor.uniform([1, 3, size, size], using: &generator)
        let forward = Self.median(runs) { _ = withoutGradients { model(x) } }
        let training = Self.median(runs) {
            let loss = model(x).abs().mean()
            _ = loss.backward()
        }
        print("TIMING \(name) 1×3×\(size)×\(size): forward \(String(format: "%.0f", forward)) ms, forward+backward \(String(format: "%.0f", training)) ms")
    }
}
