import Foundation
import Testing
import SLKDTensor
import CSLKDOpenBLAS

/// Wall-clock timings of the hot vision kernels, printed for comparison with PyTorch; only run
/// when `SLKD_VISION_TIMING=1` (timings are not assertions).
@Suite("Vision: timings", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SLKD_VISION_TIMING"] == "1"))
struct VisionTimingTests {
    func best(_ repeats: Int = 10, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return best
    }

    @Test func convolutions() {
        var rng = RandomGenerator(seed: 1)
        let x48 = Tensor.uniform([1, 48, 128, 128], low: -1, high: 1, using: &rng)
        let w1 = Tensor.uniform([144, 48, 1, 1], low: -1, high: 1, using: &rng)
        let g144 = Tensor.uniform([1, 144, 128, 128], low: -1, high: 1, using: &rng)
        let tConv = best { _ = Tensor.conv2d(x48, weight: w1) }
        // Raw sgemm of the same product into a preallocated buffer.
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 144 * 128 * 128)
        let wf = w1.floats, xf = x48.floats
        let tGemm = best {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 144, 16384, 48, 1, wf, 48, xf, 16384, 0, out, 16384)
        }
        out.deallocate()
        let (xv, wv) = (x48.requiringGrad(), w1.requiringGrad())
        let tBoth = best { _ = Tensor.conv2d(xv, weight: wv).gradients(wrt: [xv, wv], seed: g144) }
        print(String(format: "TIMING conv1x1 48→144 @128²: forward %.3f ms (raw sgemm %.3f ms), forward+backward %.3f ms",
                     tConv, tGemm, tBoth))
        for c in [144, 254] {
            let x = Tensor.uniform([1, c, 128, 128], low: -1, high: 1, using: &rng)
            let w = Tensor.uniform([c, 1, 3, 3], low: -1, high: 1, using: &rng)
            let tf = best { _ = Tensor.conv2d(x, weight: w, padding: 1, groups: c) }
            let (xv, wv) = (x.requiringGrad(), w.requiringGrad())
            let tb = best { _ = Tensor.conv2d(xv, weight: wv, padding: 1, groups: c).gradients(wrt: [xv, wv], seed: x) }
            let macs = Double(c * 128 * 128 * 9) / 1e9
            print(String(format: "TIMING depthwise3x3 %d×128²: forward %.3f ms (%.1f GMAC/s), forward+backward %.3f ms",
                         c, tf, macs / tf * 1e3, tb))
        }
        // DRSformer MSFN grouped conv: 2·hid → hid, 2 channels per group.
        let xg = Tensor.uniform([1, 254, 64, 64], low: -1, high: 1, using: &rng)
        let wg = Tensor.uniform([127, 2, 3, 3], low: -1, high: 1, using: &rng)
        let tg = best { _ = Tensor.conv2d(xg, weight: wg, padding: 1, groups: 127) }
        print(String(format: "TIMING grouped 2ch/group 3x3 254→127 @64²: forward %.3f ms", tg))
        // Dense 3×3 48→48 at 128².
        let wd = Tensor.uniform([48, 48, 3, 3], low: -1, high: 1, using: &rng)
        let td = best(5) { _ = Tensor.conv2d(x48, weight: wd, padding: 1) }
        print(String(format: "TIMING dense3x3 48→48 @128²: forward %.3f ms", td))
    }
}

extension VisionTimingTests {
    @Test func backwardPieces() {
        var rng = RandomGenerator(seed: 1)
        let x = Tensor.uniform([1, 144, 128, 128], low: -1, high: 1, using: &rng)
        let w = Tensor.uniform([144, 1, 3, 3], low: -1, high: 1, using: &rng)
        let tMul = best { _ = (x * x).sum() }
        let xv = x.requiringGrad(), wv = w.requiringGrad()
        let seed = Tensor.uniform([1, 144, 128, 128], low: -1, high: 1, using: &rng)
        let tF = best { _ = Tensor.conv2d(x, weight: w, padding: 1, groups: 144) }
        let tX = best { _ = Tensor.conv2d(xv, weight: w, padding: 1, groups: 144).gradients(wrt: [xv], seed: seed) }
        let tW = best { _ = Tensor.conv2d(x, weight: wv, padding: 1, groups: 144).gradients(wrt: [wv], seed: seed) }
        print(String(format: "TIMING depthwise 144 pieces: mul+sum %.3f ms, forward %.3f ms, forward+dX %.3f ms, forward+dW %.3f ms", tMul, tF, tX, tW))
    }
}
