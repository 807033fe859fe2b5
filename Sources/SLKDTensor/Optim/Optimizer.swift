import RealModule

/// An optimizer's state: the number of updates made and, for every parameter, named tensors
/// (`"encoder.0.weight.exp_avg"`), ready to be written to a checkpoint.
public struct OptimizerState: Sendable {
    /// The number of ``Optimizer/update(_:gradients:)`` calls so far.
    public var step: Int
    /// `"<parameter key>.<state name>"` → tensor, with PyTorch's state names (`exp_avg`,
    /// `exp_avg_sq`, `step`, `momentum_buffer`).
    public var tensors: [String: Tensor]

    public init(step: Int, tensors: [String: Tensor]) {
        self.step = step
        self.tensors = tensors
    }

    /// One flat dictionary (``tensors`` plus an int64 scalar under `"step"`), for safetensors.
    public var flattened: [String: Tensor] {
        var all = tensors
        all["step"] = Tensor(shape: [], indices: [step])
        return all
    }

    /// Reads a dictionary written by ``flattened``.
    public init(flattened: [String: Tensor]) throws {
        guard let s = flattened["step"], s.count == 1 else { throw OptimizerStateError.missingStepCount }
        // A float step read from a file could be NaN or 1e300, which `Int(_:)` traps on.
        guard s.dtype == .int64, let step = s.integers.first, step >= 0 else {
            throw OptimizerStateError.invalidStepCount(dtype: s.dtype)
        }
        var rest = flattened
        rest["step"] = nil
        self.init(step: step, tensors: rest)
    }
}

/// Why an optimizer state could not be loaded.
public enum OptimizerStateError: Error, CustomStringConvertible, Equatable {
    /// The key is not `"<parameter>.<state name>"` with a state name this optimizer keeps.
    case unknownStateName(key: String)
    /// The key names a parameter the model does not train.
    case unknownParameter(key: String)
    /// The tensor's shape does not fit its parameter.
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    /// A flattened state lacks its `"step"` entry.
    case missingStepCount
    /// The `"step"` entry is not a non-negative int64 scalar.
    case invalidStepCount(dtype: DType)

    public var description: String {
        switch self {
        case .unknownStateName(let key): "optimizer state key '\(key)' has no state name this optimizer keeps"
        case .unknownParameter(let key): "optimizer state key '\(key)' names no trainable parameter of the model"
        case .shapeMismatch(let key, let expected, let found): "optimizer state '\(key)' has shape \(found), expected \(expected)"
        case .missingStepCount: "optimizer state has no 'step' entry"
        case .invalidStepCount(let dtype): "optimizer state 'step' must be a non-negative int64 scalar (found a \(dtype) value)"
        }
    }
}

/// The base of gradient-descent optimizers.
///
/// The core of each optimizer is a pure step per parameter, ``step(parameter:gradient:state:)``:
/// (parameter, gradient, state) → (parameter, state), with the state a small dictionary of
/// tensors. This class runs it over a model's trainable parameters, keeps the states by parameter
/// key, and saves and restores them.
///
/// ```swift
/// let optimizer = AdamW(learningRate: 2e-4, weightDecay: 1e-4)
/// for step in 0..<steps {
///     optimizer.learningRate = schedule.learningRate(at: step)
///     let grads = loss(model(x), y).backward()
///     optimizer.update(model, gradients: grads)
/// }
/// ```
///
/// Steps run as fused element-wise loops. A parameter or state tensor that nothing else holds is
/// overwritten in place (copy-on-write: a tensor someone still holds — a saved state dictionary,
/// a retained graph — is copied first), so a step allocates nothing in the usual case.
open class Optimizer {
    /// The learning rate of the next update (set it from a schedule before each update).
    public var learningRate: Double
    /// The number of updates made.
    public internal(set) var step = 0
    /// Per-parameter state, by parameter key, then state name.
    var states: [String: [String: Tensor]] = [:]

    public init(learningRate: Double) {
        self.learningRate = learningRate
    }

    /// The names of the per-parameter state tensors this optimizer keeps.
    open var stateNames: Set<String> { [] }

    /// One step for one parameter. Overridden by each optimizer.
    ///
    /// - Parameters:
    ///   - parameter: the current value on entry, the updated value on return.
    ///   - gradient: the gradient of the loss with respect to `parameter`, same dtype and shape.
    ///   - state: this parameter's state, empty before its first step.
    open func step(parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor]) {
        preconditionFailure("\(type(of: self)) must override step(parameter:gradient:state:)")
    }

    /// Updates every trainable parameter of `model` that has a gradient in `gradients` and writes
    /// the new values back as fresh gradient leaves. Frozen parameters and parameters without a
    /// gradient are left alone (their state too, as in PyTorch).
    public func update(_ model: Module, gradients: Gradients) {
        withoutGradients {
            for (key, slot) in model.namedSlotsRecursively() where slot.isTrainable {
                guard let gradient = slot.tensor.flatMap({ gradients[$0] }) else { continue }
                precondition(gradient.shape == slot.tensor!.shape && gradient.dtype == slot.tensor!.dtype,
                             "gradient of '\(key)' is \(gradient.dtype)\(gradient.shape), parameter is \(slot.tensor!.dtype)\(slot.tensor!.shape)")
                // Take the tensors out of the slot and the state table so that, unless someone
                // else holds them, the step may overwrite them in place.
                var parameter = slot.tensor!.detached()
                slot.set(nil)
                var state = states.removeValue(forKey: key) ?? [:]
                step(parameter: &parameter, gradient: gradient.detached(), state: &state)
                states[key] = state
                slot.set(parameter)
            }
        }
        step += 1
    }

    /// The state to checkpoint. The tensors are shared, not copied; later updates do not change them.
    public func optimizerState() -> OptimizerState {
        var tensors: [String: Tensor] = [:]
        for (key, state) in states {
            for (name, tensor) in state { tensors[key + "." + name] = tensor }
        }
        return OptimizerState(step: step, tensors: tensors)
    }

    /// Restores a state saved by ``optimizerState()``, replacing the current one. With `model`,
    /// every key must name one of its trainable parameters and every tensor must fit it.
    ///
    /// - Throws: ``OptimizerStateError`` naming the offending key; nothing is changed then.
    public func loadOptimizerState(_ saved: OptimizerState, for model: Module? = nil) throws {
        let shapes = model.map { Dictionary(uniqueKeysWithValues: $0.trainableParameters().map { ($0.key, $0.tensor.shape) }) }
        var restored: [String: [String: Tensor]] = [:]
        for (fullKey, tensor) in saved.tensors {
            guard let dot = fullKey.lastIndex(of: "."), stateNames.contains(String(fullKey[fullKey.index(after: dot)...])) else {
                throw OptimizerStateError.unknownStateName(key: fullKey)
            }
            let key = String(fullKey[..<dot]), name = String(fullKey[fullKey.index(after: dot)...])
            if let shapes {
                guard let shape = shapes[key] else { throw OptimizerStateError.unknownParameter(key: fullKey) }
                let expected = isScalarState(name) ? [] : shape
                if tensor.shape != expected && !(isScalarState(name) && tensor.count == 1) {
                    throw OptimizerStateError.shapeMismatch(key: fullKey, expected: expected, found: tensor.shape)
                }
            }
            restored[key, default: [:]][name] = tensor.detached()
        }
        states = restored
        step = saved.step
    }

    /// Whether a state entry is a per-parameter scalar (a step count) rather than parameter-shaped.
    open func isScalarState(_ name: String) -> Bool { name == "step" }
}

// MARK: - Buffers for fused steps

extension Optimizer {
    /// Makes `tensor` contiguous, starting at element 0 of a storage that nothing else holds, so
    /// that a step may overwrite it. Copies only when another holder could observe the write.
    static func makeUniquelyOwned(_ tensor: inout Tensor) {
        let shape = tensor.shape, strides = tensor.strides, offset = tensor.offset
        let candidate = offset == 0 && tensor.isContiguous && tensor.storage.count == Swift.max(tensor.count, 1)
        var storage = tensor.storage
        tensor = placeholder  // drop our second reference so that `storage` may be the only one
        if candidate && isKnownUniquelyReferenced(&storage) {
            tensor = Tensor(contiguous: storage, shape: shape)
        } else {
            tensor = Tensor(storage: storage, shape: shape, strides: strides, offset: offset).materializeCopy()
        }
    }

    /// A fresh tensor of zeros shaped like `like`, for a state's first step.
    static func zeroState(like tensor: Tensor) -> Tensor { Tensor.zeros(tensor.shape, dtype: tensor.dtype) }

    static let placeholder = Tensor.zeros([], dtype: .float32)

    /// The per-parameter step count kept under `"step"` (PyTorch keeps it per parameter, so a
    /// parameter that missed updates has its own bias correction).
    static func stepCount(_ state: [String: Tensor]) -> Int { state["step"]?.integers[0] ?? 0 }
}

/// Runs `body` over disjoint chunks of `0..<count` in parallel once the work is large enough.
@inline(__always)
func forEachChunk(_ count: Int, _ body: (Range<Int>) -> Void) {
    Parallel.forChunks(count, grain: 1 << 16, body)
}
