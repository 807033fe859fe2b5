import Foundation
import Testing
import SLKDModels

/// Wall-clock timings of the Uformer presets at 1×3×128×128 (forward without gradients, and
/// forward + backward of an L1 loss). Opt-in: `SLKD_TIMING=1 swift test -c release --filter UformerTiming`.
@Suite("UformerTiming", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SLKD_TIMING"] == "1", "set SLKD_TIMING=1 to time Uformer"))
struct UformerTimingTests {
    /// Median wall-clock and process-CPU milliseconds of `runs` calls after one warm-up. CPU time
    /// is the robust figure on a shared machine (with one thread it is the work itself).
    static func median(_ runs: Int, _ body: () -> Void) -> (wall: Double, cpu: Double) {
        func cpuNow() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
        }
        body()   // warm-up: caches, allocator, BLAS threads
        var walls: [Double] = [], cpus: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds, cpu = cpuNow()
            body()
            walls.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            cpus.append(cpuNow() - cpu)
        }
        return (walls.sorted()[runs / 2], cpus.sorted()[runs / 2])
    }

    static func format(_ t: (wall: Double, cpu: Double)) -> String {
        String(format: "%.1f ms wall (%.1f ms CPU)", t.wall, t.cpu)
    }

    @Test(arguments: [("Ufor-SL", Uformer.Configuration.uforSL, true), ("Uformer-B", Uformer.Configuration.uformerB, false)])
    func time(_ name: String, _ configuration: Uformer.Configuration, _ backward: Bool) throws {
        let env = ProcessInfo.processInfo.environment
        if let only = env["SLKD_TIMING_MODEL"], only != name { return }
        if let threads = env["SLKD_THREADS"].flatMap(Int.init) {
            Parallel.threadCount = threads
        }
        var g = RandomGenerator(seed: 11)
        let model = try Uformer(configuration, using: &g)
        model.eval()
        let runs = Int(env["SLKD_TIMING_RUNS"] ?? "") ?? 5
        let x = Tensor.uniform([1, 3, 128, 128], using: &g), target = Tensor.uniform([1, 3, 128, 128], using: &g)
        let forward = Self.median(runs) { _ = withoutGradients { model(x) } }
        var line = "\(name) 1×3×128×128, \(Parallel.threadCount) threads: forward \(Self.format(forward))"
        if backward && env["SLKD_TIMING_FORWARD_ONLY"] != "1" {
            let both = Self.median(runs) {
                let loss = (model(x) - target).abs().mean()
                _ = loss.backward()
            }
            line += ", forward+backward \(Self.format(both))"
        }
        print(line)
    }
}
