/// The semantic checks of a training checkpoint before it is resumed: a file can be well formed and
/// still describe a run that never happened (step 2⁶², a negative step, a learning rate the options
/// do not give). Resuming such a state would train nothing, or train off the schedule, and still
/// report success, so it is refused with the reason.
extension TrainingState {
    /// Why the step counters cannot describe any run, or nil: the step is negative, or the
    /// skipped-step counter or the last good step lies outside what the step allows.
    ///
    /// The one check of the counters' bounds and its wording: ``TrainingCheckpointFile`` runs it on
    /// every checkpoint it reads (the trainer adds to these counters, so a negative or out-of-order
    /// value is a corrupt file whatever the options), and ``inconsistency(with:optimizerStep:)``
    /// starts with it.
    public var counterProblem: String? {
        guard step >= 0 else { return "step \(step) is negative" }
        guard (0...step).contains(consecutiveNonFiniteSteps) else {
            return "consecutiveNonFiniteSteps \(consecutiveNonFiniteSteps) is outside 0...\(step) (the step)"
        }
        if let last = lastGoodStep, !(0..<step).contains(last) {
            return "lastGoodStep \(last) is outside 0..<\(step) (the step)"
        }
        return nil
    }

    /// Why this state cannot be resumed by a trainer configured with `configuration`, or nil.
    ///
    /// - Parameters:
    ///   - configuration: the resuming trainer's configuration.
    ///   - optimizerStep: the optimizer's update count stored beside the state.
    public func inconsistency(with configuration: TrainerConfiguration, optimizerStep: Int) -> String? {
        if let problem = counterProblem { return problem }
        let total = configuration.totalSteps
        guard step <= total else { return "step \(step) is past train.total_iter (\(total))" }
        guard (0...step).contains(optimizerStep) else {
            return "the optimizer made \(optimizerStep) updates, but only \(step) steps were taken"
        }
        // The counter's bounds by the step were checked above; the trainer's own limit is the options'.
        let limit = configuration.maxConsecutiveNonFiniteSteps
        guard consecutiveNonFiniteSteps <= limit else {
            return "consecutiveNonFiniteSteps \(consecutiveNonFiniteSteps) is over \(limit), the trainer's limit of skipped steps in a row"
        }
        // Every step either updated the weights or was skipped; the last good one is just before
        // the run of skipped ones.
        let expectedLastGood: Int? = step - consecutiveNonFiniteSteps > 0 ? step - consecutiveNonFiniteSteps - 1 : nil
        guard lastGoodStep == expectedLastGood else {
            return "the last good step \(lastGoodStep.map(String.init) ?? "none") does not follow from step \(step) "
                + "with \(consecutiveNonFiniteSteps) skipped steps in a row"
        }
        guard data.epoch >= 0, data.position >= 0, data.batchesServed >= 0 else {
            return "the sampler's epoch \(data.epoch), position \(data.position) and batch count \(data.batchesServed) must not be negative"
        }
        guard data.batchesServed == step else {
            return "the sampler served \(data.batchesServed) batches, but \(step) steps were taken (one batch each)"
        }
        return scheduleMismatch(configuration)
    }

    /// Where the stored schedule differs from the options' (the learning rate at a step depends on
    /// all of it, so resuming under another schedule would jump the learning rate).
    private func scheduleMismatch(_ options: TrainerConfiguration) -> String? {
        let stored = configuration
        if stored.learningRate != options.learningRate {
            return "its learning rate \(stored.learningRate) differs from the options' \(options.learningRate) (train.optim_g.lr)"
        }
        // With restart periods the schedule is the periods', not total_iter's, so a run may be
        // lengthened or stopped early on resume as in BasicSR; a plain cosine spans total_iter.
        if options.restarts == nil, stored.totalSteps != options.totalSteps {
            return "it was written for \(stored.totalSteps) steps, the options give \(options.totalSteps) (train.total_iter), "
                + "which changes the cosine schedule; give train.scheduler.periods to change the length"
        }
        if stored.minimumLearningRate != options.minimumLearningRate || stored.restarts != options.restarts {
            return "its learning-rate schedule differs from the options' (train.scheduler)"
        }
        return nil
    }
}
