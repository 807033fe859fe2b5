import SLKDModels

/// What one training step's loss came to.
public struct StepLoss {
    /// The scalar to minimise (a graph back to the trainable parameters).
    public var total: Tensor
    /// Each term's value before weighting, for logs (`"l1"`, `"kl"`, `"nc"`, `"et"`, …).
    public var terms: [String: Double]
    /// The restored batch, detached, when the objective has one (for step metrics such as PSNR).
    public var prediction: Tensor?
    /// Each term as weighted in ``total``, with its graph: what the trainer differentiates one by
    /// one when it measures each term's share of the gradient (``Trainer/gradientShareInterval``).
    public var weightedTerms: [String: Tensor]

    public init(total: Tensor, terms: [String: Double] = [:], prediction: Tensor? = nil, weightedTerms: [String: Tensor] = [:]) {
        self.total = total
        self.terms = terms
        self.prediction = prediction
        self.weightedTerms = weightedTerms
    }
}

/// A training objective the ``Trainer`` minimises: the loss of a batch, and which modules it
/// trains. SLKD, its baselines (``DistillationObjective``) and teacher pre-training
/// (``SupervisedObjective``) are objectives; so can be any user loss.
public protocol TrainingObjective: AnyObject {
    /// The modules whose parameters are optimised and checkpointed, by a key that prefixes their
    /// parameter names (`"student"`, `"scm"`). The order is fixed for a run.
    var trainableModules: [(key: String, module: Module)] { get }

    /// The loss of `batch`. `generator` is the trainer's (checkpointed) generator for anything
    /// random the objective does.
    func loss(for batch: TrainingBatch, generator: inout RandomGenerator) -> StepLoss

    /// The trained network's restoration of `degraded`, for evaluation (no graph recorded).
    func restore(_ degraded: Tensor) -> Tensor

    /// Anything the objective sets up from the first batch of a run before its first loss (the
    /// SCM's least-squares fit). The ``Trainer`` calls it before its first step, then makes every
    /// process's parameters equal to rank 0's. The default does nothing.
    func prepare(for batch: TrainingBatch)
}

extension TrainingObjective {
    public func prepare(for batch: TrainingBatch) {}
}

/// The pixel losses a network can be trained on.
public enum PixelLossKind: Codable, Sendable, Hashable {
    case l1
    /// BasicSR's Charbonnier loss with this ε (Restormer and DRSformer train on ε = 1e-3).
    case charbonnier(epsilon: Double)

    public func callAsFunction(_ prediction: Tensor, _ target: Tensor) -> Tensor {
        switch self {
        case .l1: PixelLoss.l1(prediction, target)
        case .charbonnier(let epsilon): PixelLoss.charbonnier(prediction, target, epsilon: epsilon)
        }
    }
}

/// Supervised training of a restoration network on (degraded, clean) pairs: how teachers are
/// pre-trained before distillation.
public final class SupervisedObjective: TrainingObjective {
    public let model: any RestorationModel
    public var pixelLoss: PixelLossKind

    public init(model: any RestorationModel, pixelLoss: PixelLossKind = .l1) {
        self.model = model
        self.pixelLoss = pixelLoss
    }

    public var trainableModules: [(key: String, module: Module)] { [("model", model)] }

    public func loss(for batch: TrainingBatch, generator: inout RandomGenerator) -> StepLoss {
        model.train()
        let restored = model(batch.degraded)
        let loss = pixelLoss(restored, batch.clean)
        return StepLoss(total: loss, terms: ["pixel": loss.item], prediction: restored.detached(), weightedTerms: ["pixel": loss])
    }

    public func restore(_ degraded: Tensor) -> Tensor {
        model.eval()
        defer { model.train() }
        return withoutGradients { model(degraded) }
    }
}
