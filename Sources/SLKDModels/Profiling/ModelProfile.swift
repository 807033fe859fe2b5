import Foundation
import SLKDTensor

/// Size and cost of one network at one input size: parameters, fvcore MACs (total, per stage, per
/// operator), forward latency and peak memory.
///
/// ```swift
/// let profile = try ModelProfile.measure(model, input: [1, 3, 128, 128], runs: 5)
/// print(profile.table)
/// let json = try JSONEncoder().encode(profile)
/// ```
///
/// Stages are the model's direct children (`patch_embed`, `encoder_level1`, `down1_2`, …). Their
/// MACs come from `MACReport.macsByStage(of:)` (SLKDTensor): each op is charged to the child holding its
/// weight, and weightless ops (attention matmuls) to the child of the last weighted op before
/// them, so models need no profiling code. A model may still wrap parts of its forward in
/// `MACCounter.stage(_:_:)`; those names take precedence.
public struct ModelProfile: Codable, Sendable, Equatable {
    /// One stage: a direct child of the model (or an explicit MAC stage).
    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        public var parameters: Int
        public var macs: Int

        public init(name: String, parameters: Int, macs: Int) {
            self.name = name
            self.parameters = parameters
            self.macs = macs
        }
    }

    /// The model's name (its type unless given).
    public var model: String
    /// All parameter elements (frozen included; buffers excluded).
    public var parameters: Int
    /// fvcore multiply–accumulates of one forward pass.
    public var macs: Int
    /// The input shape, N×C×H×W.
    public var input: [Int]
    /// Per stage, in the model's child order; `"(other)"` collects what no child owns.
    public var stages: [Stage]
    /// MACs by fvcore operator name (`conv`, `linear`, `matmul`, `layer_norm`, `adaptive_avg_pool2d`).
    public var macsByOperator: [String: Int]
    /// Median wall time of one forward pass without gradients, in milliseconds.
    public var latencyMs: Double
    /// How many timed forward passes the median is over.
    public var runs: Int
    /// The most bytes live tensors held during one forward pass (weights and input included).
    public var peakBytes: Int
    /// ``peakBytes`` less the tensor bytes held before the pass: the activations' footprint.
    public var activationPeakBytes: Int
    /// The process's maximum resident set size so far (getrusage), in bytes.
    public var maxRSSBytes: Int

    enum CodingKeys: String, CodingKey {
        case model, parameters, macs, input, stages, runs
        case macsByOperator = "macs_by_operator"
        case latencyMs = "latency_ms"
        case peakBytes = "peak_bytes"
        case activationPeakBytes = "activation_peak_bytes"
        case maxRSSBytes = "max_rss_bytes"
    }
}

/// Why a profile could not be taken.
public enum ProfilingError: Error, Equatable, CustomStringConvertible {
    /// The input shape does not suit the model.
    case badInputShape(shape: [Int], reason: String)

    public var description: String {
        switch self {
        case .badInputShape(let shape, let reason): "profile: input shape \(shape) does not fit the model: \(reason)"
        }
    }
}

extension ModelProfile {
    /// Profiles a restoration model on a uniform-random input of `shape` (N×C×H×W, in the model's
    /// dtype): one counted forward pass, `warmup` untimed ones, then `runs` timed ones.
    public static func measure(_ model: any RestorationModel, name: String? = nil, input shape: [Int] = [1, 3, 128, 128],
                               runs: Int = 5, warmup: Int = 1, seed: UInt64 = 0) throws -> ModelProfile {
        guard shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
            throw ProfilingError.badInputShape(shape: shape, reason: "need a positive N×C×H×W shape")
        }
        guard shape[1] == model.inputChannels else {
            throw ProfilingError.badInputShape(shape: shape, reason: "the model takes \(model.inputChannels) channels")
        }
        guard shape[2] % model.sizeMultiple == 0 && shape[3] % model.sizeMultiple == 0 else {
            throw ProfilingError.badInputShape(shape: shape, reason: "height and width must be multiples of \(model.sizeMultiple)")
        }
        guard !model.requiresSquareInput || shape[2] == shape[3] else {
            throw ProfilingError.badInputShape(shape: shape, reason: "the model needs a square input")
        }
        let dtype = model.namedParameters().first?.tensor.dtype ?? .float32
        var generator = RandomGenerator(seed: seed)
        let x = Tensor.uniform(shape, dtype: dtype, using: &generator)
        return measure(model, name: name ?? String(describing: type(of: model)), input: x, runs: runs, warmup: warmup) {
            model($0)
        }
    }

    /// Profiles any module whose forward pass is `forward`, on `input`.
    public static func measure(_ module: Module, name: String, input: Tensor, runs: Int = 5, warmup: Int = 1,
                               forward: (Tensor) -> Tensor) -> ModelProfile {
        precondition(runs >= 1 && warmup >= 0, "ModelProfile.measure: runs must be ≥ 1 and warmup ≥ 0")
        // The counted pass also measures memory: MAC counting allocates no tensors.
        let baseline = MemoryTracker.shared.currentBytes
        // A measuring scope sees only this pass's tensors, whatever else runs concurrently.
        let (report, activationPeak) = MemoryTracker.measuring { scope in
            (MACCounter.count { _ = withoutGradients { forward(input) } }, scope.peakBytes)
        }
        let peak = baseline + activationPeak

        for _ in 0..<warmup { _ = withoutGradients { forward(input) } }
        var times: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<runs {
            let elapsed = clock.measure { _ = withoutGradients { forward(input) } }
            times.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15)
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2

        let byStage = report.macsByStage(of: module)
        let childParameters = Dictionary(module.namedChildren.map { ($0.key, $0.module.parameterCount) },
                                         uniquingKeysWith: { a, _ in a })
        var stages = byStage.stages.map { Stage(name: $0.name, parameters: childParameters[$0.name] ?? 0, macs: $0.macs) }
        let ownParameters = module.namedSlots.reduce(0) { $0 + ($1.slot.kind == .parameter ? $1.slot.tensor?.count ?? 0 : 0) }
        if byStage.other > 0 || ownParameters > 0 {
            stages.append(Stage(name: "(other)", parameters: ownParameters, macs: byStage.other))
        }
        return ModelProfile(
            model: name, parameters: module.parameterCount, macs: report.total, input: input.shape, stages: stages,
            macsByOperator: Dictionary(uniqueKeysWithValues: report.byOperator.map { ($0.key.rawValue, $0.value) }),
            latencyMs: median, runs: runs, peakBytes: peak, activationPeakBytes: peak - baseline,
            maxRSSBytes: maxResidentSetBytes())
    }

    /// The process's peak resident set size in bytes (0 where getrusage is unavailable).
    static func maxResidentSetBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
        #else
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss)  // bytes on macOS
        #endif
    }
}

extension ModelProfile {
    /// A plain-text table: a header line, one row per stage, the totals and the operator mix.
    public var table: String {
        let input = self.input.map(String.init).joined(separator: "×")
        var lines = [
            "\(model) @ \(input): \(Self.grouped(parameters)) parameters, \(Self.scaled(macs))MAC, "
                + String(format: "%.1f ms", latencyMs) + " (median of \(runs)), peak \(Self.mebibytes(peakBytes)) "
                + "(activations \(Self.mebibytes(activationPeakBytes)), max RSS \(Self.mebibytes(maxRSSBytes)))",
        ]
        let width = Swift.max(5, stages.map(\.name.count).max() ?? 0)
        func row(_ a: String, _ b: String, _ c: String, _ d: String) -> String {
            a.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(repeating: " ", count: Swift.max(0, 12 - b.count)) + b
                + "  " + String(repeating: " ", count: Swift.max(0, 16 - c.count)) + c
                + "  " + String(repeating: " ", count: Swift.max(0, 6 - d.count)) + d
        }
        lines.append(row("stage", "parameters", "MACs", "MAC %"))
        for stage in stages {
            let share = macs > 0 ? String(format: "%.1f", 100 * Double(stage.macs) / Double(macs)) : "-"
            lines.append(row(stage.name, Self.grouped(stage.parameters), Self.grouped(stage.macs), share))
        }
        lines.append(row("total", Self.grouped(parameters), Self.grouped(macs), macs > 0 ? "100.0" : "-"))
        let mix = MACOperator.allCases.compactMap { op in
            macsByOperator[op.rawValue].map { "\(op.rawValue) \(Self.scaled($0))" }
        }
        lines.append("by operator: " + (mix.isEmpty ? "none" : mix.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// 38_720_000_000 → "38.720 G".
    static func scaled(_ n: Int) -> String {
        let v = Double(n)
        if v >= 1e9 { return String(format: "%.3f G", v / 1e9) }
        if v >= 1e6 { return String(format: "%.3f M", v / 1e6) }
        if v >= 1e3 { return String(format: "%.3f K", v / 1e3) }
        return "\(n) "
    }

    static func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}
