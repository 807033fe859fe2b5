import Dispatch
import SLKDModels

/// Runs the frozen teachers of a distillation step: only the passes and taps asked for, without
/// recording a graph, each at most once per batch id (outputs are kept for the current batch),
/// one forward for both roles when teacher B is teacher A on the same input, repeated teacher-B
/// samples forwarded once, large batches in slices. None of this changes the results.
public final class TeacherRunner {
    public let teacherA: any RestorationModel
    /// Teacher B: a separate network, or teacher A itself.
    public let teacherB: any RestorationModel

    /// Which teacher a pass served.
    public enum Role: String, Hashable, Sendable { case a, b }

    /// One teacher forward: the roles it served, the batches it ran on (in order, concatenated
    /// when more than one), the taps it recorded and the samples it forwarded.
    public struct Pass: Hashable, Sendable {
        public var roles: Set<Role>
        public var inputs: [DistillationConfiguration.TeacherBInput]
        public var taps: Set<String>
        public var samples: Int

        public init(roles: Set<Role>, inputs: [DistillationConfiguration.TeacherBInput], taps: Set<String>, samples: Int) {
            self.roles = roles
            self.inputs = inputs
            self.taps = taps
            self.samples = samples
        }
    }

    /// What the teachers produced for one batch.
    public struct Outputs {
        /// Teacher A on the degraded batch.
        public var a: ModelOutput?
        /// Teacher B, on ``bInput``.
        public var b: ModelOutput?
        public var bInput: DistillationConfiguration.TeacherBInput?
    }

    /// Wall-clock seconds of the last ``outputs(for:needs:)`` call.
    public struct Timing: Sendable, Equatable {
        /// Teacher A's forward; when ``shared``, the one forward serving both.
        public var teacherA = 0.0
        public var teacherB = 0.0
        /// Whether one forward served both roles.
        public var shared = false
        /// Whether the outputs came from the cache (no forward ran).
        public var cached = false
    }

    /// Forward each distinct sample of teacher B's input once (bit-for-bit comparison; on by default).
    public var reusesRepeatedTeacherBInputs = true
    /// Run teacher A's and B's inputs through one forward of twice the batch when B is A on the
    /// other input (off by default; Docs/Benchmarks.md, "Distillation step profile").
    public var batchesTeacherForwards = false
    /// The most samples forwarded at once (nil: the whole batch).
    public var sliceSize: Int? = nil {
        didSet { precondition(sliceSize.map { $0 > 0 } ?? true, "teacherSliceSize must be positive") }
    }

    /// Teacher forwards run so far (a shared forward counts once).
    public private(set) var forwardCount = 0
    /// Samples forwarded so far (A and B together).
    public private(set) var samplesForwarded = 0
    /// The passes of the last batch that was not served from the cache.
    public private(set) var lastPasses: [Pass] = []
    /// The phase times of the last call.
    public private(set) var lastTiming = Timing()

    private var cache: (batch: Int, needs: Set<DistillationRequirement>, outputs: Outputs)?

    /// Freezes both teachers and switches them to evaluation mode.
    public init(teacherA: any RestorationModel, teacherB: (any RestorationModel)? = nil) {
        self.teacherA = teacherA
        let b = teacherB ?? teacherA
        self.teacherB = b
        for teacher in [teacherA, b] {
            teacher.eval()
            teacher.freeze()
        }
    }

    /// The teacher outputs `needs` asks for on `batch` (its teacher requirements; others are
    /// ignored), computed once per batch id. Teacher B's input is the one `needs` names (clean
    /// when it names none: B is not run then anyway).
    public func outputs(for batch: TrainingBatch, needs: Set<DistillationRequirement>) -> Outputs {
        if let cache, cache.batch == batch.id, cache.needs == needs {
            lastTiming = Timing(cached: true)
            return cache.outputs
        }
        lastTiming = Timing()
        lastPasses = []
        var tapsA = Set<String>(), tapsB = Set<String>()
        var needsImageA = false, needsImageB = false
        var input = DistillationConfiguration.TeacherBInput.clean
        for requirement in needs {
            switch requirement {
            case .teacherAOutput: needsImageA = true
            case .teacherAEncoderTaps: tapsA.formUnion(teacherA.encoderTaps)
            case .teacherADecoderTaps: tapsA.formUnion(teacherA.decoderTaps)
            case .teacherBOutput(let on):
                needsImageB = true
                input = on
            case .teacherBDecoderTaps(let on):
                tapsB.formUnion(teacherB.decoderTaps)
                input = on
            case .groundTruth, .studentEncoderTaps, .studentDecoderTaps, .scm: break
            }
        }
        let needA = needsImageA || !tapsA.isEmpty
        let needB = needsImageB || !tapsB.isEmpty
        let bInput = input == .clean ? batch.clean : batch.degraded
        var out = Outputs()
        if needB { out.bInput = input }
        withoutGradients {
            if needA && needB && teacherB === teacherA && input == .degraded {
                // One network, one input: a single forward serves both roles.
                let started = Self.now()
                let both = forwardInSlices(teacherA, batch.degraded, features: tapsA.union(tapsB))
                forwardCount += 1
                samplesForwarded += batch.batchSize
                lastTiming.teacherA = Self.seconds(since: started)
                lastTiming.shared = true
                lastPasses.append(Pass(roles: [.a, .b], inputs: [.degraded], taps: tapsA.union(tapsB), samples: batch.batchSize))
                out.a = both
                out.b = both
            } else if needA && needB && teacherB === teacherA && batchesTeacherForwards {
                // One network, two inputs: one forward over [degraded; B's input], split after.
                let started = Self.now()
                let n = batch.batchSize
                let both = forwardInSlices(teacherA, Tensor.concatenated([batch.degraded, bInput], axis: 0), features: tapsA.union(tapsB))
                forwardCount += 1
                samplesForwarded += 2 * n
                lastTiming.teacherA = Self.seconds(since: started)
                lastTiming.shared = true
                lastPasses.append(Pass(roles: [.a, .b], inputs: [.degraded, input], taps: tapsA.union(tapsB), samples: 2 * n))
                func half(_ output: ModelOutput, _ k: Int, _ taps: Set<String>) -> ModelOutput {
                    func part(_ t: Tensor) -> Tensor { t.narrowed(axis: 0, start: k * n, length: n) }
                    var features: [String: Tensor] = [:]
                    for name in taps {
                        guard let f = output.features[name] else { preconditionFailure("model did not record tap '\(name)'") }
                        features[name] = part(f)
                    }
                    return ModelOutput(image: part(output.image), features: features)
                }
                out.a = half(both, 0, tapsA)
                out.b = half(both, 1, tapsB)
            } else {
                if needA {
                    let started = Self.now()
                    out.a = forwardInSlices(teacherA, batch.degraded, features: tapsA)
                    forwardCount += 1
                    samplesForwarded += batch.batchSize
                    lastTiming.teacherA = Self.seconds(since: started)
                    lastPasses.append(Pass(roles: [.a], inputs: [.degraded], taps: tapsA, samples: batch.batchSize))
                }
                if needB {
                    let started = Self.now()
                    let before = samplesForwarded
                    out.b = forwardDistinct(teacherB, bInput, features: tapsB)
                    forwardCount += 1
                    lastTiming.teacherB = Self.seconds(since: started)
                    lastPasses.append(Pass(roles: [.b], inputs: [input], taps: tapsB, samples: samplesForwarded - before))
                }
            }
        }
        cache = (batch.id, needs, out)
        return out
    }

    /// `model` on `input` with each distinct sample forwarded once (when
    /// ``reusesRepeatedTeacherBInputs``): repeats take the outputs of their first occurrence.
    /// Samples are compared bit for bit, so the outputs are those of the plain forward.
    func forwardDistinct(_ model: any RestorationModel, _ input: Tensor, features: Set<String>) -> ModelOutput {
        let n = input.shape[0]
        func sample(_ t: Tensor, _ i: Int) -> Tensor { t.narrowed(axis: 0, start: i, length: 1) }
        var slot: [Int] = [], distinct: [Int] = []
        if reusesRepeatedTeacherBInputs && n > 1 {
            let bits = (0..<n).map { i in sample(input, i).doubles.map(\.bitPattern) }
            for i in 0..<n {
                if let k = distinct.firstIndex(where: { bits[$0] == bits[i] }) {
                    slot.append(k)
                } else {
                    slot.append(distinct.count)
                    distinct.append(i)
                }
            }
        }
        guard !distinct.isEmpty, distinct.count < n else {
            samplesForwarded += n
            return forwardInSlices(model, input, features: features)
        }
        samplesForwarded += distinct.count
        let out = forwardInSlices(model, Tensor.concatenated(distinct.map { sample(input, $0) }, axis: 0), features: features)
        func spread(_ t: Tensor) -> Tensor { Tensor.concatenated(slot.map { sample(t, $0) }, axis: 0) }
        return ModelOutput(image: spread(out.image), features: out.features.mapValues(spread))
    }

    /// `model` on `input`, at most ``sliceSize`` samples per forward, outputs joined.
    func forwardInSlices(_ model: any RestorationModel, _ input: Tensor, features: Set<String>) -> ModelOutput {
        let n = input.shape[0]
        guard let size = sliceSize, size < n else { return model.forward(input, features: features) }
        let parts = stride(from: 0, to: n, by: size).map { start in
            model.forward(input.narrowed(axis: 0, start: start, length: Swift.min(size, n - start)), features: features)
        }
        var joined: [String: Tensor] = [:]
        for name in parts[0].features.keys {
            joined[name] = Tensor.concatenated(parts.map { $0.features[name]! }, axis: 0)
        }
        return ModelOutput(image: Tensor.concatenated(parts.map(\.image), axis: 0), features: joined)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
