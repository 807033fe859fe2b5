import Synchronization

// Multiply–accumulate counting with fvcore's rules (the counter behind the paper's Table I).
//
// Each counted op reports one line, `MACCounter.record(...)`, from its forward. Nothing is counted
// unless a `MACCounter.count { }` is running on the calling task, and the check for that is one
// relaxed atomic load. Backward passes are not counted (BackwardEngine.run turns counting off):
// fvcore counts one forward.

/// The operator kinds fvcore counts, named as fvcore's per-operator table names them.
///
/// Everything else — element-wise arithmetic, softmax, GELU, channel LayerNorm written with tensor
/// ops, `AvgPool2d`, pixel (un)shuffle, top-k, padding, reductions — counts zero. (The three
/// networks do not interpolate, so whether interpolation counts does not change their totals;
/// fvcore 0.1.5 does count it, and so does this counter.)
public enum MACOperator: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Convolution, batch × C_out × (C_in / groups) × k_h × k_w × H_out × W_out; transposed
    /// convolution, batch × weight.numel × H_in × W_in. Bias is not counted.
    case conv
    /// `nn.Linear`: tokens × in × out.
    case linear
    /// Matrix product (matmul, bmm): batch × M × N × K (fvcore: left operand's numel × N).
    case matmul
    /// `nn.LayerNorm`: 5 × input numel with an affine weight, 4 × without.
    case layerNorm = "layer_norm"
    /// Adaptive average pooling: input numel.
    case adaptiveAvgPool2d = "adaptive_avg_pool2d"
    /// Bilinear interpolation: 4 × output numel.
    case upsampleBilinear2d = "upsample_bilinear2d"
    /// Nearest-neighbour interpolation: output numel.
    case upsampleNearest2d = "upsample_nearest2d"

    public static func < (a: MACOperator, b: MACOperator) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Counts the multiply–accumulates of the tensor operations run inside ``count(_:)``.
///
/// ```swift
/// let report = MACCounter.count { _ = withoutGradients { model(x) } }
/// print(report.total, report.macs(.conv))
/// ```
///
/// Reports break the count down in two ways that need no help from model code:
/// - by operator kind (``MACOperator``);
/// - by the module that owns the weight: conv, linear and LayerNorm record their weight, and
///   weightless ops (attention matmuls, pooling) are charged to the last weighted op before them —
///   in these networks the `qkv` projection of the same block. ``MACReport/macsByChild(of:only:)``
///   resolves this to a model's top-level children (`encoder_level1`, `latent`, …).
///
/// Model code may also name stages explicitly with ``stage(_:_:)``; those names nest with `.`.
///
/// Counting follows the calling task (a task-local), like ``withoutGradients(_:)``: ops run on
/// other threads or unstructured tasks are not seen.
public enum MACCounter {
    /// The sink and stage path visible to the current task.
    struct Scope: Sendable {
        let sink: MACSink
        let path: String
    }

    @TaskLocal static var scope: Scope?

    /// How many ``count(_:)`` calls run anywhere: the zero-cost fast path when none does.
    static let activeCount = Atomic<Int>(0)

    /// Whether ops on this task are being counted.
    public static var isCounting: Bool {
        activeCount.load(ordering: .relaxed) != 0 && scope != nil
    }

    /// Runs `body` and returns the MACs of the counted operations it ran.
    ///
    /// A `count` nested in another counts into the inner report only.
    public static func count(_ body: () throws -> Void) rethrows -> MACReport {
        try counting(body).report
    }

    /// Runs `body` and returns its result together with the MACs it ran.
    public static func counting<R>(_ body: () throws -> R) rethrows -> (result: R, report: MACReport) {
        let sink = MACSink()
        activeCount.add(1, ordering: .relaxed)
        defer { activeCount.subtract(1, ordering: .relaxed) }
        let result = try $scope.withValue(Scope(sink: sink, path: ""), operation: body)
        return (result, sink.report())
    }

    /// Runs `body` with its MACs charged to the stage `name` (nested in the enclosing stage, if
    /// any, as `outer.name`). Costs nothing beyond the check when nothing is being counted.
    public static func stage<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        guard activeCount.load(ordering: .relaxed) != 0, let current = scope else { return try body() }
        let path = current.path.isEmpty ? name : current.path + "." + name
        return try $scope.withValue(Scope(sink: current.sink, path: path), operation: body)
    }

    /// Runs `body` without counting (backward passes; ops that count themselves as another kind).
    public static func uncounted<R>(_ body: () throws -> R) rethrows -> R {
        guard activeCount.load(ordering: .relaxed) != 0, scope != nil else { return try body() }
        return try $scope.withValue(nil, operation: body)
    }

    /// Adds `macs` of kind `op` when counting; `weight` is the op's weight (its storage identifies
    /// the owning module). The MAC formula is only evaluated when counting.
    ///
    /// Models that compute an official operation another way (a LayerNorm over channels, four
    /// products folded into one) call this so that counts stay those of the official network.
    @inline(__always)
    public static func record(_ op: MACOperator, weight: Tensor? = nil, _ macs: @autoclosure () -> Int) {
        guard activeCount.load(ordering: .relaxed) != 0, let current = scope else { return }
        current.sink.add(op, macs(), stage: current.path, owner: weight.map { ObjectIdentifier($0.storage) })
    }

    /// fvcore's matmul count for `[…, M, K] · […, K, N]`: the left operand's numel × N
    /// (`matmul_flop_jit`). That is batch × M × N × K unless the left operand is broadcast along
    /// a batch axis, where fvcore counts the left operand's own batch only.
    static func matmulMACs(_ a: [Int], _ b: [Int]) -> Int {
        Shape.count(a) * b[b.count - 1]
    }
}

/// Runs `body` with neither gradient recording nor MAC counting: what the backward engine's rules run under.
func withoutGradientsOrMACs<R>(_ body: () throws -> R) rethrows -> R {
    try MACCounter.uncounted { try withoutGradients(body) }
}

/// Where one ``MACCounter/count(_:)`` accumulates: MACs by (stage, operator, owning weight), in
/// first-seen order.
final class MACSink: Sendable {
    struct Key: Hashable, Sendable {
        let stage: String
        let op: MACOperator
        let owner: ObjectIdentifier?
    }

    struct State {
        var order: [Key] = []
        var macs: [Key: Int] = [:]
        /// The owner of the last weighted op, charged for the weightless ops after it.
        var lastOwner: ObjectIdentifier?
    }

    private let state = Mutex(State())

    func add(_ op: MACOperator, _ macs: Int, stage: String, owner: ObjectIdentifier?) {
        state.withLock { s in
            if let owner { s.lastOwner = owner }
            let key = Key(stage: stage, op: op, owner: owner ?? s.lastOwner)
            if let old = s.macs[key] {
                s.macs[key] = old + macs
            } else {
                s.macs[key] = macs
                s.order.append(key)
            }
        }
    }

    func report() -> MACReport {
        state.withLock { s in
            MACReport(entries: s.order.map {
                MACReport.Entry(stage: $0.stage, operator: $0.op, owner: $0.owner, macs: s.macs[$0]!)
            })
        }
    }
}
