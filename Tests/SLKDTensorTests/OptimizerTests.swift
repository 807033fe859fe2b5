import Foundation
import Testing
import SLKDTensor

/// `Vectors/optim.json`, written by `Scripts/torchref/optim.py`.
struct OptimizerReference: Decodable {
    struct Run: Decodable {
        var name: String
        var optimizer: String
        var hyper: [String: ParameterValue]
        var schedule: [String: ParameterValue]
        var clip: Double?
        var lrs: [Double]
        var norms: [Double]
        var snapshots: [String: [String: TensorRecord]]
        var finalState: [String: TensorRecord]

        enum CodingKeys: String, CodingKey {
            case name, optimizer, hyper, schedule, clip, lrs, norms, snapshots
            case finalState = "final_state"
        }
    }

    var initial: [String: TensorRecord]
    var x: TensorRecord
    var y: TensorRecord
    var runs: [Run]

    static func load() throws -> OptimizerReference {
        guard let url = Bundle.module.url(forResource: "optim", withExtension: "json", subdirectory: "Vectors") else {
            throw ReferenceError.missing("optim")
        }
        return try JSONDecoder().decode(OptimizerReference.self, from: Data(contentsOf: url))
    }

    /// The reference MLP, keys "0.weight", "0.bias", "2.weight", "2.bias" as in PyTorch.
    func makeModel(dtype: DType = .float64) -> Sequential {
        func t(_ key: String) -> Tensor { initial[key]!.tensor(dtype) }
        return Sequential(Linear(weight: t("0.weight"), bias: t("0.bias")), Lambda { $0.tanh() },
                          Linear(weight: t("2.weight"), bias: t("2.bias")))
    }
}

extension OptimizerReference.Run {
    func makeOptimizer() -> Optimizer {
        let lr = hyper["lr"]!.number, wd = hyper["weight_decay"]!.number
        switch optimizer {
        case "sgd":
            return SGD(learningRate: lr, momentum: hyper["momentum"]!.number, dampening: hyper["dampening"]!.number,
                       weightDecay: wd, nesterov: hyper["nesterov"]!.flag)
        case "adam", "adamw":
            let betas = hyper["betas"]!.list
            return optimizer == "adam"
                ? Adam(learningRate: lr, beta1: betas[0], beta2: betas[1], epsilon: hyper["eps"]!.number, weightDecay: wd)
                : AdamW(learningRate: lr, beta1: betas[0], beta2: betas[1], epsilon: hyper["eps"]!.number, weightDecay: wd)
        default: fatalError("unknown optimizer \(optimizer)")
        }
    }

    func makeSchedule() -> any LearningRateSchedule {
        let base = schedule["base"]!.number
        switch schedule["kind"]!.text {
        case "cosine":
            return CosineAnnealing(base: base, period: schedule["period"]!.int, minimum: schedule["minimum"]!.number)
        case "restart":
            return CosineAnnealingRestart(base: base, periods: schedule["periods"]!.ints,
                                          restartWeights: schedule["restart_weights"]!.list, minimum: schedule["minimum"]!.number)
        case "warmup_cosine":
            return LinearWarmup(base: base, steps: schedule["warmup"]!.int, startFactor: schedule["start_factor"]!.number,
                                then: CosineAnnealing(base: base, period: schedule["period"]!.int, minimum: schedule["minimum"]!.number))
        default: fatalError("unknown schedule")
        }
    }
}

extension ParameterValue {
    var list: [Double] { if case .list(let v) = self { return v }; fatalError("not a list: \(self)") }
}

/// One training step of the reference problem: MSE loss, backward, optional clipping, update.
/// Returns the gradient norm (before clipping).
@discardableResult
func trainingStep(_ model: Sequential, _ optimizer: Optimizer, x: Tensor, y: Tensor, clip: Double?) -> Double {
    let loss = (model(x) - y).squared().mean()
    var grads = loss.backward()
    let norm = clip.map { grads.clipGlobalNorm(of: model, maxNorm: $0) } ?? grads.globalNorm(of: model)
    optimizer.update(model, gradients: grads)
    return norm
}

@Suite("Optimizers")
struct OptimizerTests {
    static let reference = try? OptimizerReference.load()

    // The brief asks for 1e-6 relative; float64 agrees to 1e-9 (a run with SGD's 1e-4 weight decay
    // dropped already misses 1e-6).
    @Test("100-step trajectories match PyTorch in float64",
          arguments: ["sgd_cosine", "adam_restart", "adamw_warmup_clip"])
    func trajectoryMatchesPyTorch(name: String) throws {
        let ref = try #require(Self.reference)
        let run = try #require(ref.runs.first { $0.name == name })
        let model = ref.makeModel()
        let optimizer = run.makeOptimizer()
        let schedule = run.makeSchedule()
        let x = ref.x.tensor(), y = ref.y.tensor()
        for step in 0..<100 {
            optimizer.learningRate = schedule.learningRate(at: step)
            #expect(Swift.abs(optimizer.learningRate - run.lrs[step]) <= 1e-12 * run.lrs[step], "\(name) lr at step \(step)")
            let norm = trainingStep(model, optimizer, x: x, y: y, clip: run.clip)
            #expect(Swift.abs(norm - run.norms[step]) <= 1e-9 * run.norms[step], "\(name) gradient norm at step \(step)")
            if let snapshot = run.snapshots[String(step + 1)] {
                let state = model.stateDictionary()
                #expect(Set(state.keys) == Set(snapshot.keys))
                for (key, expected) in snapshot {
                    expectClose(state[key]!, expected.tensor(), rtol: 1e-9, atol: 1e-13, "\(name) \(key) after step \(step + 1)")
                }
            }
        }
        #expect(optimizer.step == 100)
        // The optimizer state carries PyTorch's names and values.
        let state = optimizer.optimizerState().tensors
        #expect(Set(state.keys) == Set(run.finalState.keys))
        for (key, expected) in run.finalState {
            expectClose(state[key]!.cast(to: .float64).reshaped(expected.shape), expected.tensor(), rtol: 1e-9, atol: 1e-13, "\(name) state \(key)")
        }
        if run.clip != nil { #expect(run.norms.contains { $0 > run.clip! } && run.norms.contains { $0 < run.clip! }) }
    }

    @Test("saving and restoring mid-run continues exactly as an uninterrupted run",
          arguments: ["sgd_cosine", "adam_restart", "adamw_warmup_clip"])
    func resumeIsExact(name: String) throws {
        let ref = try #require(Self.reference)
        let run = try #require(ref.runs.first { $0.name == name })
        let schedule = run.makeSchedule()
        let x = ref.x.tensor(), y = ref.y.tensor()

        let model = ref.makeModel()
        let optimizer = run.makeOptimizer()
        var checkpoint: (weights: [String: Tensor], state: [String: Tensor])?
        for step in 0..<30 {
            if step == 12 {
                checkpoint = (model.stateDictionary(), optimizer.optimizerState().flattened)
            }
            optimizer.learningRate = schedule.learningRate(at: step)
            trainingStep(model, optimizer, x: x, y: y, clip: run.clip)
        }
        let saved = try #require(checkpoint)

        // A fresh model and optimizer, restored from the checkpoint taken before step 12 (whose
        // tensors the original run's later in-place steps must not have touched).
        let resumed = ref.makeModel()
        try resumed.loadStateDictionary(saved.weights)
        let resumedOptimizer = run.makeOptimizer()
        try resumedOptimizer.loadOptimizerState(try OptimizerState(flattened: saved.state), for: resumed)
        #expect(resumedOptimizer.step == 12)
        for step in 12..<30 {
            resumedOptimizer.learningRate = schedule.learningRate(at: resumedOptimizer.step)
            #expect(resumedOptimizer.step == step)
            trainingStep(resumed, resumedOptimizer, x: x, y: y, clip: run.clip)
        }
        let a = model.stateDictionary(), b = resumed.stateDictionary()
        for key in a.keys { #expect(a[key]!.doubles == b[key]!.doubles, "\(name) \(key) differs after resume") }
        let sa = optimizer.optimizerState().tensors, sb = resumedOptimizer.optimizerState().tensors
        #expect(Set(sa.keys) == Set(sb.keys))
        for key in sa.keys { #expect(sa[key]!.doubles == sb[key]!.doubles, "\(name) state \(key) differs after resume") }
    }

    @Test func exportedTensorsAreNotOverwrittenByLaterSteps() throws {
        let ref = try #require(Self.reference)
        let model = ref.makeModel()
        let optimizer = Adam(learningRate: 0.01)
        let x = ref.x.tensor(), y = ref.y.tensor()
        trainingStep(model, optimizer, x: x, y: y, clip: nil)
        let weight = model.namedParameters()[0].tensor
        let weightValues = weight.doubles
        let state = optimizer.optimizerState()
        let stateValues = state.tensors.mapValues(\.doubles)
        trainingStep(model, optimizer, x: x, y: y, clip: nil)
        #expect(weight.doubles == weightValues)
        for (key, t) in state.tensors { #expect(t.doubles == stateValues[key]!, "\(key) changed") }
        #expect(model.namedParameters()[0].tensor.doubles != weightValues)
    }

    @Test func loadingOptimizerStateChecksKeysAndShapes() throws {
        let ref = try #require(Self.reference)
        let model = ref.makeModel()
        let optimizer = Adam()
        let ok = Tensor.zeros([7, 5], dtype: .float64)
        #expect(throws: OptimizerStateError.unknownParameter(key: "1.weight.exp_avg")) {
            try optimizer.loadOptimizerState(OptimizerState(step: 3, tensors: ["1.weight.exp_avg": ok]), for: model)
        }
        #expect(throws: OptimizerStateError.shapeMismatch(key: "0.weight.exp_avg_sq", expected: [7, 5], found: [5, 7])) {
            try optimizer.loadOptimizerState(OptimizerState(step: 3, tensors: ["0.weight.exp_avg_sq": .zeros([5, 7], dtype: .float64)]), for: model)
        }
        #expect(throws: OptimizerStateError.unknownStateName(key: "0.weight.momentum_buffer")) {
            try optimizer.loadOptimizerState(OptimizerState(step: 3, tensors: ["0.weight.momentum_buffer": ok]), for: model)
        }
        #expect(throws: OptimizerStateError.missingStepCount) { try OptimizerState(flattened: ["0.weight.exp_avg": ok]) }
        #expect(optimizer.step == 0)
    }

    @Test func frozenParametersAreNotUpdated() throws {
        let ref = try #require(Self.reference)
        let model = ref.makeModel()
        let first = model[0] as! Linear
        first.freeze()
        #expect(model.trainableParameters().map(\.key) == ["2.weight", "2.bias"])
        #expect(model.namedParameters().count == 4)
        #expect(!first.weight.requiresGrad)
        let before = first.weight.doubles, beforeBias = first.bias!.doubles
        let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
        for _ in 0..<3 { trainingStep(model, optimizer, x: ref.x.tensor(), y: ref.y.tensor(), clip: nil) }
        #expect(first.weight.doubles == before && first.bias!.doubles == beforeBias)
        #expect((model[2] as! Linear).weight.doubles != ref.initial["2.weight"]!.data)
        #expect(Set(optimizer.optimizerState().tensors.keys) == ["2.weight.momentum_buffer", "2.bias.momentum_buffer"])
        first.unfreeze()
        #expect(first.weight.requiresGrad && model.trainableParameters().count == 4)
        trainingStep(model, optimizer, x: ref.x.tensor(), y: ref.y.tensor(), clip: nil)
        #expect(first.weight.doubles != before)
    }

    @Test func clippingScalesToTheRequestedNorm() throws {
        let ref = try #require(Self.reference)
        let model = ref.makeModel()
        let loss = (model(ref.x.tensor()) - ref.y.tensor()).squared().mean()
        var grads = loss.backward()
        let before = grads.globalNorm(of: model)
        let unscaled = grads[model.namedParameters()[0].tensor]!.doubles
        let reported = grads.clipGlobalNorm(of: model, maxNorm: before / 4)
        #expect(reported == before)
        let factor = (before / 4) / (before + 1e-6)
        #expect(Swift.abs(grads.globalNorm(of: model) - before * factor) < 1e-14 * before)
        let scaled = grads[model.namedParameters()[0].tensor]!.doubles
        for i in 0..<scaled.count { #expect(Swift.abs(scaled[i] - unscaled[i] * factor) <= 1e-15 * Swift.abs(unscaled[i])) }
        // Below the threshold nothing changes.
        #expect(grads.clipGlobalNorm(of: model, maxNorm: before) < before)
        #expect(grads[model.namedParameters()[0].tensor]!.doubles == scaled)
    }

    @Test func float32TrajectoryStaysCloseToFloat64() throws {
        let ref = try #require(Self.reference)
        let run = try #require(ref.runs.first { $0.name == "adam_restart" })
        let model = ref.makeModel(dtype: .float32)
        let optimizer = run.makeOptimizer()
        let schedule = run.makeSchedule()
        for step in 0..<10 {
            optimizer.learningRate = schedule.learningRate(at: step)
            trainingStep(model, optimizer, x: ref.x.tensor(.float32), y: ref.y.tensor(.float32), clip: nil)
        }
        let state = model.stateDictionary()
        for (key, expected) in run.snapshots["10"]! {
            #expect(state[key]!.dtype == .float32)
            expectClose(state[key]!, expected.tensor(), rtol: 1e-4, atol: 1e-5, "float32 \(key)")
        }
    }
}
