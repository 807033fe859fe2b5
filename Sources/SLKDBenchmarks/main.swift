// slkd-bench: times SLKDTensor kernels against what the hardware allows, measured in the same
// run — raw `cblas_sgemm` on the same buffers for matrix products, a plain `memcpy` of the same
// bytes for memory-bound element-wise ops and reductions — and prints one table.
//
//   swift run -c release slkd-bench [--filter X] [--json out.json] [--seconds S]   (--help for all options)
//
// Scripts/bench/torch_bench.py times the same work in PyTorch under the same case names;
// Scripts/bench/compare.py joins the two JSON files into the table of Docs/Benchmarks.md.

import CSLKDOpenBLAS
import Dispatch
import Foundation
import SLKDTensor

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Measuring

/// Keeps results observable so that the optimiser cannot drop the work.
nonisolated(unsafe) var sink = 0

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Process maximum resident set size in bytes (getrusage reports KiB on Linux).
func maxRSSBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}

/// What a case's throughput is measured in.
enum Work {
    /// Floating-point operations per call (matmul: 2·M·N·K).
    case flops(Double)
    /// Bytes read plus bytes written per call.
    case bytes(Double)
    /// Multiply–adds per call (convolutions, Linear; one multiply–add counted once, as fvcore).
    case macs(Double)

    var unit: String {
        switch self {
        case .flops: "GFLOP/s"
        case .bytes: "GB/s"
        case .macs: "GMAC/s"
        }
    }

    func rate(seconds: Double) -> Double {
        switch self {
        case .flops(let f): f / seconds / 1e9
        case .bytes(let b): b / seconds / 1e9
        case .macs(let m): m / seconds / 1e9
        }
    }
}

struct Case {
    var name: String
    var work: Work
    /// The case in the same run that measures what the hardware allows for this one.
    var baseline: String?
    var body: () -> Void
}

struct Result: Codable {
    var name: String
    var medianMs: Double
    var minMs: Double
    var runs: Int
    var unit: String
    var rate: Double
    var baseline: String?
    /// rate / baseline rate (throughput as a fraction of sgemm or memcpy).
    var fractionOfBaseline: Double?
    var peakTensorBytes: Int
    var maxRSSBytes: Int
    /// How much building the case's group and running its cases so far raised the process's max RSS
    /// (weights, inputs and the peak of the runs; meaningful when one group runs per process).
    var maxRSSDeltaBytes: Int

    enum CodingKeys: String, CodingKey {
        case name, runs, unit, rate, baseline
        case medianMs = "median_ms", minMs = "min_ms"
        case fractionOfBaseline = "fraction_of_baseline"
        case peakTensorBytes = "peak_tensor_bytes", maxRSSBytes = "max_rss_bytes"
        case maxRSSDeltaBytes = "max_rss_delta_bytes"
    }
}

/// How long to wait before each case for OpenBLAS's idle server threads to stop spinning
/// (sched_yield in a loop, 2^28 cycles, about 0.1 s) after the library loads and after every
/// threaded call (an sgemm baseline). A case measured in that window shares the cores with them:
/// the element-wise cases are 51 runs of about a millisecond, and the first of them ran while it
/// spun.
let blasSpinSettleMicroseconds: UInt32 = 300_000

/// Waits out OpenBLAS's spin, then one warm-up call, then enough calls to fill `seconds` (odd,
/// 5…51); the median is reported.
func measure(_ c: Case, seconds: Double) -> (median: Double, min: Double, runs: Int, peak: Int) {
    usleep(blasSpinSettleMicroseconds)
    c.body()  // warm-up: page faults, BLAS buffers, caches
    let t0 = now()
    c.body()
    let once = Double(now() - t0) / 1e9
    var runs = Int((seconds / Swift.max(once, 1e-6)).rounded())
    runs = Swift.min(51, Swift.max(5, runs)) | 1
    MemoryTracker.shared.resetPeak()
    var times: [Double] = []
    times.reserveCapacity(runs)
    for _ in 0..<runs {
        let start = now()
        c.body()
        times.append(Double(now() - start) / 1e9)
    }
    times.sort()
    return (times[runs / 2], times[0], runs, MemoryTracker.shared.peakBytes)
}

// MARK: - Cases


nonisolated(unsafe) var generator = RandomGenerator(seed: 2024)

func random(_ shape: [Int]) -> Tensor {
    Tensor.uniform(shape, low: -1, high: 1, dtype: .float32, using: &generator)
}

/// Square matrix products: `Tensor.matmul` against `cblas_sgemm` on the same input buffers.
func matmulCases(_ n: Int) -> [Case] {
    let a = random([n, n]), b = random([n, n])
    let flops = 2.0 * Double(n) * Double(n) * Double(n)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
    c.initialize(repeating: 0, count: n * n)
    let sgemm = Case(name: "sgemm_\(n)", work: .flops(flops), baseline: nil) {
        a.withContiguousScalars(Float.self) { pa in
            b.withContiguousScalars(Float.self) { pb in
                BLASThreads.withThreads(Parallel.threadCount) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n),
                                1, pa.baseAddress, Int32(n), pb.baseAddress, Int32(n), 0, c, Int32(n))
                }
            }
        }
        sink &+= Int(c[0].bitPattern)
    }
    let matmul = Case(name: "matmul_\(n)", work: .flops(flops), baseline: sgemm.name) {
        sink &+= a.matmul(b).count
    }
    return [sgemm, matmul]
}

/// Restormer's transposed (channel) attention at 128×128 with 48 channels per head, 8 heads:
/// q·kᵀ is [8,48,16384]·[8,16384,48] (kᵀ a transposed view), attn·v is [8,48,48]·[8,48,16384].
func attentionCases() -> [Case] {
    let batch = 8, c = 48, hw = 16384
    let q = random([batch, c, hw]), k = random([batch, c, hw]), v = random([batch, c, hw])
    let attn = random([batch, c, c])
    let flops = 2.0 * Double(batch * c * c) * Double(hw)
    // Baselines: the same products as one sgemm per batch entry (OpenBLAS threads inside).
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: batch * c * c)
    let mixed = UnsafeMutablePointer<Float>.allocate(capacity: batch * c * hw)
    scores.initialize(repeating: 0, count: batch * c * c)
    mixed.initialize(repeating: 0, count: batch * c * hw)
    let qkBase = Case(name: "sgemm_bmm_qk", work: .flops(flops), baseline: nil) {
        q.withContiguousScalars(Float.self) { pq in
            k.withContiguousScalars(Float.self) { pk in
                BLASThreads.withThreads(Parallel.threadCount) {
                    for i in 0..<batch {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(c), Int32(c), Int32(hw), 1,
                                    pq.baseAddress! + i * c * hw, Int32(hw), pk.baseAddress! + i * c * hw, Int32(hw),
                                    0, scores + i * c * c, Int32(c))
                    }
                }
            }
        }
        sink &+= Int(scores[0].bitPattern)
    }
    let qkPar = Case(name: "sgemm_bmm_qk_par", work: .flops(flops), baseline: nil) {
        q.withContiguousScalars(Float.self) { pq in
            k.withContiguousScalars(Float.self) { pk in
                let (a, b) = (UncheckedSendable(pq.baseAddress!), UncheckedSendable(pk.baseAddress!))
                BLASThreads.withSingleThread {
                    Parallel.forChunks(batch) { range in
                        for i in range {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(c), Int32(c), Int32(hw), 1,
                                        a.value + i * c * hw, Int32(hw), b.value + i * c * hw, Int32(hw),
                                        0, scores + i * c * c, Int32(c))
                        }
                    }
                }
            }
        }
        sink &+= Int(scores[0].bitPattern)
    }
    let avBase = Case(name: "sgemm_bmm_av", work: .flops(flops), baseline: nil) {
        attn.withContiguousScalars(Float.self) { pa in
            v.withContiguousScalars(Float.self) { pv in
                BLASThreads.withThreads(Parallel.threadCount) {
                    for i in 0..<batch {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(c), Int32(hw), Int32(c), 1,
                                    pa.baseAddress! + i * c * c, Int32(c), pv.baseAddress! + i * c * hw, Int32(hw),
                                    0, mixed + i * c * hw, Int32(hw))
                    }
                }
            }
        }
        sink &+= Int(mixed[0].bitPattern)
    }
    let kT = k.transposed()
    return [
        qkBase, qkPar,
        Case(name: "bmm_qk_8x48x16384", work: .flops(flops), baseline: qkBase.name) { sink &+= q.matmul(kT).count },
        avBase,
        Case(name: "bmm_av_8x48x48", work: .flops(flops), baseline: avBase.name) { sink &+= attn.matmul(v).count },
    ]
}

/// Memory-bound ops on one 1×96×128×128 feature map against a memcpy of the same bytes.
func elementwiseCases() -> [Case] {
    let shape = [1, 96, 128, 128]
    let n = shape.reduce(1, *)
    let bytes = Double(n * MemoryLayout<Float>.size)
    let x = random(shape), y = random(shape), bias = random([1, 96, 1, 1])
    let destination = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
    destination.initializeMemory(as: UInt8.self, repeating: 0, count: n * 4)
    let memcpyCase = Case(name: "memcpy_96x128x128", work: .bytes(2 * bytes), baseline: nil) {
        x.withContiguousScalars(Float.self) { px in
            _ = memcpy(destination, UnsafeRawPointer(px.baseAddress!), n * 4)
        }
        sink &+= Int(destination.load(as: UInt8.self))
    }
    let base = memcpyCase.name
    return [
        memcpyCase,
        Case(name: "add", work: .bytes(3 * bytes), baseline: base) { sink &+= (x + y).count },
        Case(name: "mul_bias", work: .bytes(2 * bytes), baseline: base) { sink &+= (x * bias).count },
        Case(name: "exp", work: .bytes(2 * bytes), baseline: base) { sink &+= x.exp().count },
        Case(name: "sigmoid", work: .bytes(2 * bytes), baseline: base) { sink &+= x.sigmoid().count },
        Case(name: "tanh", work: .bytes(2 * bytes), baseline: base) { sink &+= x.tanh().count },
        Case(name: "gelu", work: .bytes(2 * bytes), baseline: base) { sink &+= x.gelu().count },
        Case(name: "sum_all", work: .bytes(bytes), baseline: base) { sink &+= x.sum().count },
        Case(name: "sum_axis1", work: .bytes(bytes), baseline: base) { sink &+= x.sum(axis: 1).count },
        Case(name: "mean_hw", work: .bytes(bytes), baseline: base) { sink &+= x.mean(axes: [2, 3]).count },
    ]
}

/// Forward and backward of x[4096,256] → (linear 256→256 → tanh) × 4 → sum.
func mlpCase() -> [Case] {
    let rows = 4096, width = 256, layers = 4
    let x = random([rows, width])
    let scale = 1 / Double(width).squareRoot()
    let weights = (0..<layers).map { _ in (random([width, width]) * scale).requiringGrad() }
    let biases = (0..<layers).map { _ in (random([width]) * 0.1).requiringGrad() }
    let product = 2.0 * Double(rows * width * width)
    // Forward: one product per layer; backward: dW per layer and dX for all but the first.
    let flops = product * Double(layers + layers + layers - 1)
    return [Case(name: "mlp4_fwd_bwd", work: .flops(flops), baseline: nil) {
        var h = x
        for l in 0..<layers { h = (h.matmul(weights[l]) + biases[l]).tanh() }
        let grads = h.sum().gradients(wrt: weights + biases)
        sink &+= grads.count
    }]
}

// MARK: - Main

let options = BenchOptions.parseOrExit()
if let threads = options.threads {
    // OpenBLAS itself stays at one thread: SLKD splits its products over this pool.
    Parallel.threadCount = threads
}
if options.noMemoryCache { TensorMemoryCache.limit = 0 }
if options.gradientBytes {
    try printGradientBytes()
    exit(0)
}
if options.distillStep {
    try runDistillStepProfile(DistillStepOptions(batch: options.batch, patch: options.patch, steps: options.steps,
                                                 batchedTeachers: options.batchedTeachers, teacherSlice: options.teacherSlice,
                                                 jsonPath: options.jsonPath))
    exit(0)
}
/// Groups of cases sharing inputs, with their case names (so that filtered-out groups allocate nothing).
let groups: [(names: [String], build: () -> [Case])] = [256, 512, 1024, 2048].map { n in
    (["sgemm_\(n)", "matmul_\(n)"], { matmulCases(n) })
} + [
    (["sgemm_bmm_qk", "sgemm_bmm_qk_par", "bmm_qk_8x48x16384", "sgemm_bmm_av", "bmm_av_8x48x48"], attentionCases),
    (["memcpy_96x128x128", "add", "mul_bias", "exp", "sigmoid", "tanh", "gelu", "sum_all", "sum_axis1", "mean_hw"], elementwiseCases),
    (["mlp4_fwd_bwd"], mlpCase),
] + visionGroups() + fusedKernelGroups() + blockGroups() + qualityGroups() + modelGroups() + productGroups()

func fmt(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }
func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: Swift.max(0, width - s.count))
    return left ? s + fill : fill + s
}

print("slkd-bench: \(Parallel.threadCount) threads, OpenBLAS \(openblas_get_num_threads()) threads, "
      + "OpenBLAS kernels \(BLASKernels.summary), SLKD kernels \(SIMDPath.active)")
print(pad("case", 34, left: true), pad("median ms", 11), pad("min ms", 10), pad("runs", 5), pad("rate", 9),
      pad("unit", 8), pad("% base", 8), pad("peak MB", 9), pad("RSS MB", 8))
var results: [Result] = []
for group in groups {
    func wanted(_ name: String) -> Bool { options.filters?.contains { name.contains($0) } ?? true }
    if !group.names.contains(where: wanted) { continue }
    let rssBefore = maxRSSBytes()  // before the group's inputs and weights exist
    let cases = group.build()
    precondition(cases.map(\.name) == group.names, "case names of the group differ from its list")
    // A selected case brings its baseline along so that the ratio can be computed.
    let selected = cases.filter { c in wanted(c.name) || cases.contains { $0.baseline == c.name && wanted($0.name) } }
    var rates: [String: Double] = [:]
    for c in selected {
        let m = measure(c, seconds: options.seconds)
        let rate = c.work.rate(seconds: m.median)
        rates[c.name] = rate
        let fraction = c.baseline.flatMap { rates[$0] }.map { rate / $0 }
        let r = Result(name: c.name, medianMs: m.median * 1e3, minMs: m.min * 1e3, runs: m.runs, unit: c.work.unit,
                       rate: rate, baseline: c.baseline, fractionOfBaseline: fraction,
                       peakTensorBytes: m.peak, maxRSSBytes: maxRSSBytes(), maxRSSDeltaBytes: maxRSSBytes() - rssBefore)
        results.append(r)
        print(pad(r.name, 34, left: true), pad(fmt(r.medianMs, 3), 11), pad(fmt(r.minMs, 3), 10), pad("\(r.runs)", 5),
              pad(fmt(r.rate, 1), 9), pad(r.unit, 8), pad(fraction.map { fmt($0 * 100, 0) + " %" } ?? "", 8),
              pad(fmt(Double(r.peakTensorBytes) / 1e6, 1), 9), pad(fmt(Double(r.maxRSSBytes) / 1e6, 0), 8))
    }
}

printQualityCPUTimes()

if let path = options.jsonPath {
    struct Report: Codable {
        var tool: String
        var threads: Int
        /// `BLASKernels.summary`: which OpenBLAS kernels the products ran on.
        var blasKernels: String
        /// `SIMDPath.active`: which path SLKD's own kernels ran on.
        var simdPath: String
        var results: [Result]
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(Report(tool: "slkd", threads: Parallel.threadCount, blasKernels: BLASKernels.summary,
                                            simdPath: SIMDPath.active.description, results: results))
    try data.write(to: URL(fileURLWithPath: path))
    print("wrote \(path)")
}
if sink == 42 { print("") }  // keeps `sink` alive
