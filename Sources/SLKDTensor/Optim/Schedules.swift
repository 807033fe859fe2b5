import RealModule

/// A learning rate as a function of the number of updates made so far (PyTorch's scheduler
/// `last_epoch` when stepped once per iteration). Schedules are pure values, so resuming a run
/// needs only the optimizer's step count.
public protocol LearningRateSchedule: Sendable {
    func learningRate(at step: Int) -> Double
}

/// The same learning rate at every step.
public struct ConstantLearningRate: LearningRateSchedule {
    public var value: Double
    public init(_ value: Double) { self.value = value }
    public func learningRate(at step: Int) -> Double { value }
}

/// Cosine annealing from `base` to a floor `minimum` over `period` steps (SGDR without
/// restarts; PyTorch `CosineAnnealingLR(T_max: period, eta_min: minimum)`):
/// η(t) = η_min + (η_base − η_min)(1 + cos(πt/T))/2. Past `period` the cosine continues, rising
/// again, as PyTorch's does.
public struct CosineAnnealing: LearningRateSchedule {
    public var base: Double
    public var period: Int
    public var minimum: Double

    public init(base: Double, period: Int, minimum: Double = 0) {
        precondition(period > 0, "cosine annealing needs a positive period")
        self.base = base
        self.period = period
        self.minimum = minimum
    }

    public func learningRate(at step: Int) -> Double {
        minimum + (base - minimum) * (1 + Double.cos(Double.pi * Double(step) / Double(period))) / 2
    }
}

/// Cosine annealing with restarts, BasicSR's `CosineAnnealingRestartLR` (and, with one floor per
/// period, Restormer's `CosineAnnealingRestartCyclicLR`).
///
/// Period i spans steps (c₍ᵢ₋₁₎, cᵢ] of the cumulative periods c (period 0 also holds step 0);
/// in it η(t) = η_min,i + wᵢ·(η_base − η_min,i)(1 + cos(π(t − c₍ᵢ₋₁₎)/pᵢ))/2. Steps past the
/// last period stay in the last period's formula (BasicSR raises there).
public struct CosineAnnealingRestart: LearningRateSchedule {
    public var base: Double
    public var periods: [Int]
    public var restartWeights: [Double]
    public var minima: [Double]

    /// - Parameters:
    ///   - base: the learning rate η_base at the start of the first period.
    ///   - periods: the length pᵢ of each period, in steps.
    ///   - restartWeights: the peak of each period as a fraction of `base` (one per period).
    ///   - minimum: the floor `eta_min`, shared by all periods.
    public init(base: Double, periods: [Int], restartWeights: [Double] = [1], minimum: Double = 0) {
        self.init(base: base, periods: periods, restartWeights: restartWeights,
                  minima: Array(repeating: minimum, count: periods.count))
    }

    /// One floor per period (`eta_mins` of `CosineAnnealingRestartCyclicLR`).
    public init(base: Double, periods: [Int], restartWeights: [Double], minima: [Double]) {
        precondition(!periods.isEmpty && periods.allSatisfy { $0 > 0 }, "restart periods must be positive")
        precondition(periods.count == restartWeights.count, "periods and restart_weights should have the same length")
        precondition(periods.count == minima.count, "periods and eta_mins should have the same length")
        self.base = base
        self.periods = periods
        self.restartWeights = restartWeights
        self.minima = minima
    }

    public func learningRate(at step: Int) -> Double {
        // BasicSR's get_position_from_periods: the first period whose cumulative end is ≥ step.
        var index = 0, restart = 0
        while index < periods.count - 1 && step > restart + periods[index] {
            restart += periods[index]
            index += 1
        }
        let minimum = minima[index]
        let phase = Double(step - restart) / Double(periods[index])
        return minimum + restartWeights[index] * 0.5 * (base - minimum) * (1 + Double.cos(Double.pi * phase))
    }
}

/// A linear warm-up followed by another schedule, as PyTorch's
/// `SequentialLR([LinearLR(start_factor, total_iters: steps), after], milestones: [steps])`:
/// η(t) = η_base·(s + (1 − s)·t/steps) for t < steps, then `after` started afresh at t − steps.
public struct LinearWarmup<After: LearningRateSchedule>: LearningRateSchedule {
    public var base: Double
    public var steps: Int
    public var startFactor: Double
    public var after: After

    public init(base: Double, steps: Int, startFactor: Double, then after: After) {
        precondition(steps > 0 && startFactor > 0 && startFactor <= 1, "warm-up needs steps > 0 and a start factor in (0, 1]")
        self.base = base
        self.steps = steps
        self.startFactor = startFactor
        self.after = after
    }

    public func learningRate(at step: Int) -> Double {
        if step >= steps { return after.learningRate(at: step - steps) }
        return base * (startFactor + (1 - startFactor) * Double(step) / Double(steps))
    }
}
