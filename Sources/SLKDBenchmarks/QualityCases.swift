// The quality metrics of SLKDQuality (issue 4): BRISQUE features and score and PIQE of one
// 512×512 RGB image (the committed astronaut sample, the pixels Scripts/bench/torch_quality.py
// feeds piq and pyiqa), and the differentiable extractors over the shapes of a Restormer
// teacher's taps at a 128×128 patch — BRISQUE on the four encoder taps, PIQE on the four decoder
// taps — forward alone (`.fwd`) and forward + backward (`.fb`, the gradients of Σ out · seed).
// The extractors are meant to cost under 10 % of the teacher's forward (1130 ms, Docs/Benchmarks.md).

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SLKDQuality
import SLKDTensor

/// The 512×512 RGB sample on the 0–255 scale, planar, from the repository's SampleImages.
func qualitySampleImage() -> QualityImage {
    let relative = "Sources/SLKDDistill/Resources/SampleImages/astronaut.png"
    // Run from the repository root, or find it beside this source file.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let candidates = [URL(fileURLWithPath: relative), root.appendingPathComponent(relative)]
    guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
        fatalError("slkd-bench: \(relative) not found; run from the repository root")
    }
    do {
        let png = try ImageIO.readPNG(at: url, channels: .rgb, dtype: .float64)
        let pixels = png.pixels.doubles.map { ($0 * 255).rounded() }
        return try QualityImage(width: png.info.width, height: png.info.height, channels: 3, pixels: pixels)
    } catch {
        fatalError("slkd-bench: cannot read \(url.path): \(error)")
    }
}

/// Process CPU time (all threads) of each call of the quality cases, by case name: on a shared
/// machine wall times swing with other processes' load, CPU time much less.
nonisolated(unsafe) var qualityCPUSeconds: [String: [Double]] = [:]

func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// A case whose calls also record their process CPU time.
func cpuTimedCase(_ name: String, work: Work, _ body: @escaping () -> Void) -> Case {
    Case(name: name, work: work, baseline: nil) {
        let start = processCPUSeconds()
        body()
        qualityCPUSeconds[name, default: []].append(processCPUSeconds() - start)
    }
}

/// Prints the median CPU time per call of every quality case that ran (called at the end of main).
func printQualityCPUTimes() {
    guard !qualityCPUSeconds.isEmpty else { return }
    print("\nquality cases: median process CPU time per call (all threads), ms")
    for name in qualityCPUSeconds.keys.sorted() {
        let times = qualityCPUSeconds[name]!.sorted()
        print(pad(name, 34, left: true), pad(fmt(times[times.count / 2] * 1e3, 3), 11))
    }
}

/// Restormer (dim 48) tap shapes at a 128×128 patch, batch 1: C, side.
let restormerEncoderTaps = [(48, 128), (96, 64), (192, 32), (384, 16)]
let restormerDecoderTaps = [(192, 32), (96, 64), (96, 128), (96, 128)]

/// `.fwd` and `.fb` cases of `extractor` applied to each of `inputs`.
func extractorCases(_ name: String, inputs: [Tensor], _ extractor: @escaping (Tensor) -> Tensor) -> [Case] {
    let bytes = Double(4 * inputs.reduce(0) { $0 + $1.count })
    let plain = inputs.map { $0.detached() }
    let leaves = inputs.map { $0.requiringGrad() }
    let seeds = withoutGradients { plain.map { random(extractor($0).shape) } }
    let forward = cpuTimedCase(name + ".fwd", work: .bytes(bytes)) {
        for x in plain { sink &+= extractor(x).count }
    }
    let both = cpuTimedCase(name + ".fb", work: .bytes(bytes)) {
        var loss = (extractor(leaves[0]) * seeds[0]).sum()
        for i in 1..<leaves.count { loss = loss + (extractor(leaves[i]) * seeds[i]).sum() }
        sink &+= loss.gradients(wrt: leaves).count
    }
    return [forward, both]
}

func tapInputs(_ taps: [(Int, Int)]) -> [Tensor] { taps.map { random([1, $0.0, $0.1, $0.1]) } }

func qualityGroups() -> [CaseGroup] {
    let imageBytes = Double(3 * 512 * 512 * 8)
    var g: [CaseGroup] = []
    g.append((["brisque_features_512", "brisque_score_512", "piqe_512"], {
        let image = qualitySampleImage()
        precondition(image.width == 512 && image.height == 512, "the sample is not 512×512")
        let model = try! BRISQUE.Model.live()
        return [
            cpuTimedCase("brisque_features_512", work: .bytes(imageBytes)) {
                sink &+= try! BRISQUE.features(image).count
            },
            cpuTimedCase("brisque_score_512", work: .bytes(imageBytes)) {
                sink &+= Int(model.score(try! BRISQUE.features(image)))
            },
            cpuTimedCase("piqe_512", work: .bytes(imageBytes)) {
                sink &+= Int(try! PIQE.score(image))
            },
        ]
    }))
    let brisque = DifferentiableBRISQUE(), piqe = DifferentiablePIQE()
    g.append((["dbrisque_restormer_enc4.fwd", "dbrisque_restormer_enc4.fb"], {
        extractorCases("dbrisque_restormer_enc4", inputs: tapInputs(restormerEncoderTaps)) { brisque($0) }
    }))
    g.append((["dpiqe_restormer_dec4.fwd", "dpiqe_restormer_dec4.fb"], {
        extractorCases("dpiqe_restormer_dec4", inputs: tapInputs(restormerDecoderTaps)) { piqe($0) }
    }))
    // Per tap, to see where the time goes.
    for (c, s) in restormerEncoderTaps {
        let name = "dbrisque_\(c)x\(s)"
        g.append(([name + ".fwd", name + ".fb"], { extractorCases(name, inputs: tapInputs([(c, s)])) { brisque($0) } }))
    }
    for (c, s) in [(192, 32), (96, 64), (96, 128)] {
        let name = "dpiqe_\(c)x\(s)"
        g.append(([name + ".fwd", name + ".fb"], { extractorCases(name, inputs: tapInputs([(c, s)])) { piqe($0) } }))
    }
    return g
}
