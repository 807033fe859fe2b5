import Foundation
import Testing
import SLKDModels

/// Wall-clock timings of DRS-SL and DRSformer at 1×3×128×128 and of their parts; run only with
/// `SLKD_BENCH=1` (a measurement, not a check):
/// `SLKD_BENCH=1 swift test -c release --skip-build --filter DRSformerSpeed`.
@Suite("DRSformerSpeed", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SLKD_BENCH"] != nil, "set SLKD_BENCH=1 to time DRSformer"))
struct DRSformerSpeedTests {
    /// Median milliseconds of `runs` calls after one warm-up: process CPU time (all threads) when
    /// `SLKD_BENCH_CPU` is set — steadier than wall time on a shared machine — else wall time.
    static func median(_ runs: Int, _ body: () -> Void) -> Double {
        body()
        let cpu = ProcessInfo.processInfo.environment["SLKD_BENCH_CPU"] != nil
        func now() -> Double {
            guard cpu else { return Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }
            var usage = rusage()
            #if os(Linux)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            #else
            getrusage(RUSAGE_SELF, &usage)
            #endif
            let user = Double(usage.ru_utime.tv_sec) * 1e3 + Double(usage.ru_utime.tv_usec) / 1e3
            let system = Double(usage.ru_stime.tv_sec) * 1e3 + Double(usage.ru_stime.tv_usec) / 1e3
            return user + system
        }
        var times: [Double] = []
        for _ in 0..<runs {
            let start = now()
            body()
            times.append(now() - start)
        }
        return times.sorted()[runs / 2]
    }

    static func input(_ size: Int = 128) -> Tensor {
        var g = RandomGenerator(seed: 1)
        return Tensor.uniform([1, 3, size, size], using: &g)
    }

    @Test func wholeModels() {
        let runs = Int(ProcessInfo.processInfo.environment["SLKD_BENCH_RUNS"] ?? "3") ?? 3
        let x = Self.input()
        let student = DRSformer(.drsSL)
        let fwd = Self.median(runs) { _ = withoutGradients { student(x) } }
        let fwdBwd = Self.median(runs) {
            let loss = student(x).abs().mean()
            _ = loss.gradients(wrt: student.namedParameters().map(\.tensor))
        }
        print(String(format: "DRS-SL 128²: forward %.0f ms, forward+backward %.0f ms", fwd, fwdBwd))
        guard ProcessInfo.processInfo.environment["SLKD_BENCH_STUDENT_ONLY"] == nil else { return }
        let teacher = DRSformer(.drsformer)
        let tFwd = Self.median(runs) { _ = withoutGradients { teacher(x) } }
        print(String(format: "DRSformer 128²: forward %.0f ms", tFwd))
    }

    /// The parts of DRS-SL's and DRSformer's forward passes at the shapes they run at, each times
    /// the number of times it runs, so that the hot spots show.
    @Test func parts() {
        var g = RandomGenerator(seed: 2)
        for (name, dim, blocks, steps) in [("DRS-SL", 24, [2, 2, 2, 4], 2), ("DRSformer", 48, [4, 6, 6, 8], 4)] {
            var total = 0.0
            func report(_ label: String, _ count: Int, _ ms: Double) {
                total += Double(count) * ms
                print(String(format: "%@ %-28@ ×%2d  %8.1f ms each  %8.1f ms", name, label, count, ms, Double(count) * ms))
            }
            let levels: [(String, Int, Int, Int, Int)] = [   // label, channels, size, heads, block count
                ("L1 enc", dim, 128, 1, blocks[0]), ("L2 enc+dec", 2 * dim, 64, 2, 2 * blocks[1]),
                ("L3 enc+dec", 4 * dim, 32, 4, 2 * blocks[2]), ("latent", 8 * dim, 16, 8, blocks[3]),
                ("L1 dec", 2 * dim, 128, 1, blocks[0]),
            ]
            for (label, c, size, heads, count) in levels {
                let x = Tensor.uniform([1, c, size, size], using: &g)
                let attn = TopKSparseAttention(dim: c, heads: heads, bias: false, using: &g)
                let ffn = MixedScaleFeedForward(dim: c, expansion: 2.66, bias: false, using: &g)
                report("\(label) TKSA", count, Self.median(3) { _ = withoutGradients { attn(x) } })
                report("\(label) MSFN", count, Self.median(3) { _ = withoutGradients { ffn(x) } })
            }
            for (label, c) in [("MEFC enc0", dim), ("MEFC refinement", 2 * dim)] {
                let x = Tensor.uniform([1, c, 128, 128], using: &g)
                let cell = MixtureOfExpertsFeatureCompensator(dim: c, steps: steps, using: &g)
                report(label, 1, Self.median(3) { _ = withoutGradients { cell(x) } })
            }
            // The U-Net glue: dense 3×3 convs (patch embedding, resampling, output), 1×1 reductions.
            let image = Tensor.uniform([1, 3, 128, 128], using: &g)
            let embed = OverlapPatchEmbed(inChannels: 3, dim: dim, bias: false, using: &g)
            report("patch_embed", 1, Self.median(3) { _ = withoutGradients { embed(image) } })
            for (label, c, size) in [("down1_2", dim, 128), ("down2_3", 2 * dim, 64), ("down3_4", 4 * dim, 32)] {
                let x = Tensor.uniform([1, c, size, size], using: &g)
                let down = Downsample(c, using: &g)
                report(label, 1, Self.median(3) { _ = withoutGradients { down(x) } })
            }
            for (label, c, size) in [("up4_3", 8 * dim, 16), ("up3_2", 4 * dim, 32), ("up2_1", 2 * dim, 64)] {
                let x = Tensor.uniform([1, c, size, size], using: &g)
                let up = Upsample(c, using: &g)
                report(label, 1, Self.median(3) { _ = withoutGradients { up(x) } })
            }
            let d1 = Tensor.uniform([1, 2 * dim, 128, 128], using: &g)
            let out = Conv2d(2 * dim, 3, kernelSize: 3, padding: 1, bias: false, using: &g)
            report("output", 1, Self.median(3) { _ = withoutGradients { out(d1) } })
            print(String(format: "%@ sum of parts %.0f ms", name, total))
        }
    }
}

extension DRSformerSpeedTests {
    /// The kernels inside one MSFN and one MEFC step at DRS-SL's level-1 shapes.
    @Test func kernels() {
        var g = RandomGenerator(seed: 4)
        let c = 24, hid = 63, size = 128
        let x = Tensor.uniform([1, c, size, size], using: &g)
        let y = Tensor.uniform([1, 2 * hid, size, size], using: &g)
        func conv(_ label: String, _ input: Tensor, _ cout: Int, _ k: Int, groups: Int, dilation: Int = 1) {
            let w = Tensor.uniform([cout, input.shape[1] / groups, k, k], using: &g)
            let fwd = Self.median(3) { _ = withoutGradients { Tensor.conv2d(input, weight: w, padding: dilation * (k / 2), dilation: dilation, groups: groups) } }
            let xi = input.requiringGrad(), wi = w.requiringGrad()
            let bwd = Self.median(3) {
                let out = Tensor.conv2d(xi, weight: wi, padding: dilation * (k / 2), dilation: dilation, groups: groups)
                _ = out.sum().gradients(wrt: [xi, wi])
            }
            print(String(format: "kernel %-34@ forward %7.1f ms, forward+backward %7.1f ms", label, fwd, bwd))
        }
        conv("1×1 24→126 (project_in)", x, 2 * hid, 1, groups: 1)
        conv("3×3 dw 126", y, 2 * hid, 3, groups: 2 * hid)
        conv("5×5 dw 126", y, 2 * hid, 5, groups: 2 * hid)
        conv("3×3 126→63 g63", y, hid, 3, groups: hid)
        conv("5×5 126→63 g63", y, hid, 5, groups: hid)
        conv("1×1 126→24 (project_out)", y, c, 1, groups: 1)
        conv("1×1 dw 24 (sep_conv_1x1)", x, c, 1, groups: c)
        conv("7×7 dw 24", x, c, 7, groups: c)
        conv("7×7 dw 24 dil 2", x, c, 7, groups: c, dilation: 2)
        conv("1×1 24→24", x, c, 1, groups: 1)
        conv("1×1 192→24 (_out)", Tensor.uniform([1, 8 * c, size, size], using: &g), c, 1, groups: 1)
        conv("3×3 dense 48→3 (output)", Tensor.uniform([1, 2 * c, size, size], using: &g), 3, 3, groups: 1)
        let relu = Self.median(3) { _ = withoutGradients { y.relu() } }
        let cat = Self.median(3) { _ = withoutGradients { Tensor.concatenated([y, y], axis: 1) } }
        let pool = Self.median(3) { _ = withoutGradients { x.avgPool2d(kernel: 3, stride: 1, padding: 1, countIncludePad: false) } }
        let pool2 = Self.median(3) { _ = withoutGradients { MEFC.AveragePool()(x) } }
        print(String(format: "kernel avgPool2d 24ch %.1f ms; MEFC.AveragePool (ones depthwise) %.1f ms", pool, pool2))
        let ln = Self.median(3) { _ = withoutGradients { x.channelLayerNorm(weight: .ones([c]), bias: .zeros([c])) } }
        print(String(format: "kernel relu 126ch %.1f ms, concat 2×126ch %.1f ms, avgpool 24ch %.1f ms, channelLayerNorm 24ch %.1f ms", relu, cat, pool, ln))
    }
}
