import Foundation
import SLKDModels

extension DistillationConfiguration {
    /// DFKD's settings (Docs/Method.md#dfkd). Defaults follow the released code's demo command
    /// where it applies to restoration.
    public struct DFKDSettings: Codable, Sendable, Hashable {
        /// w_adv, the weight of the generator's adversarial term −log(1 + ℓ_sum(S, T)).
        public var adversarialWeight = 1.0
        /// w_R, the weight of the generator's consistency term ℓ_sum(T(x̃), c).
        public var reconstructionWeight = 1.0
        /// Steps per generator update: the generator is trained on every `generatorInterval`-th
        /// step (the released code's 50 student steps per generator step).
        public var generatorInterval = 50
        /// The length of the latent vector z.
        public var latentSize = 256
        /// The side P of the generated images (a multiple of 4; Uformer needs 128).
        public var imageSize = 128
        /// The generator's width after its linear layer.
        public var generatorWidth = 128
        /// The noise operator's largest standard deviation: σ ~ U[0, maxNoise] per image.
        public var maxNoise = 50.0 / 255
        /// The weight of output KD on the real degraded batch, L1(S(x), T(x)); 0 (the default)
        /// is data-free DFKD.
        public var realDataWeight = 0.0

        public init() {}
    }

    /// ``dfkd`` or the defaults.
    public var dfkdSettings: DFKDSettings { dfkd ?? DFKDSettings() }
}

/// DFKD adapted to restoration (Docs/Method.md#dfkd) as a ``TrainingObjective``.
///
/// The generator is one of the ``trainableModules``, so its weights and Adam state are
/// checkpointed with the student's and the ``Trainer``'s one backward and one update serve both
/// players: on a generator step the student's input passes a gradient reversal whose scale
/// w_adv·N/(1 + ℓ_sum) turns the student's descent on mean (S − T)² into the generator's descent
/// on −w_adv·log(1 + ℓ_sum(S, T)), and the consistency term reaches the generator only (the
/// teacher is frozen). On the other steps the generator runs without a graph and gets no
/// gradient, so Adam leaves it as it is.
public final class DFKDObjective: TrainingObjective {
    public let student: any RestorationModel
    public let teacher: any RestorationModel
    public let generatorNetwork: DFKDGenerator
    public let settings: DistillationConfiguration.DFKDSettings

    public init(student: any RestorationModel, teacher: any RestorationModel,
                settings: DistillationConfiguration.DFKDSettings = .init(), using generator: inout RandomGenerator) {
        precondition(settings.generatorInterval > 0, "DFKD: generatorInterval must be positive")
        self.student = student
        self.teacher = teacher
        self.settings = settings
        teacher.eval()
        teacher.freeze()
        generatorNetwork = DFKDGenerator(latentSize: settings.latentSize, imageSize: settings.imageSize,
                                         width: settings.generatorWidth, channels: student.inputChannels,
                                         dtype: ScaleConversionModule.probeType(student), using: &generator)
    }

    public var trainableModules: [(key: String, module: Module)] { [("student", student), ("generator", generatorNetwork)] }

    /// Whether the step of `batch` updates the generator.
    public func isGeneratorStep(_ batch: TrainingBatch) -> Bool {
        batch.id % settings.generatorInterval == settings.generatorInterval - 1
    }

    /// What one synthetic batch gave: the total to back-propagate (its value is the student's
    /// loss), the student's loss L_S and the generator's loss L_G (values with the graphs they
    /// were computed on; L_G is only for reports and checks).
    public struct Pass {
        public var total: Tensor
        public var studentLoss: Tensor
        public var generatorLoss: Tensor
        public var adversarial: Double
        public var reconstruction: Double
    }

    /// The generator step on generated clean images `clean` (with a graph back to the generator,
    /// or any leaf) and the noise `noise` (same shape; already scaled by each image's σ).
    public func generatorPass(clean c: Tensor, noise: Tensor) -> Pass {
        let x = (c + noise).clamp(min: 0, max: 1)
        let t = teacher(x)
        let n = Double(t.count)
        final class Box { var scale = 0.0 }
        let box = Box()
        let s = student(x.gradientReversed { box.scale })
        let difference = s - t.gradientReversed { box.scale }
        let studentLoss = difference.squared().mean()
        let sum = withoutGradients { (s.detached() - t.detached()).squared().sum().item }
        box.scale = settings.adversarialWeight * n / (1 + sum)
        let reconstruction = (t - c).squared().sum()
        let consistency = reconstruction * settings.reconstructionWeight
        let adversarial = -settings.adversarialWeight * Foundation.log1p(sum)
        // The value is the student's loss; the gradient adds the consistency term's (generator only).
        let total = studentLoss + (consistency - consistency.detached())
        let generatorLoss = ((s - t).squared().sum() + 1).log() * -settings.adversarialWeight + consistency
        return Pass(total: total, studentLoss: studentLoss, generatorLoss: generatorLoss, adversarial: adversarial,
                    reconstruction: reconstruction.item)
    }

    public func loss(for batch: TrainingBatch, generator rng: inout RandomGenerator) -> StepLoss {
        student.train()
        let b = batch.degraded.shape[0], p = settings.imageSize, channels = student.inputChannels
        let dtype = ScaleConversionModule.probeType(student)
        let z = Tensor.normal([b, settings.latentSize], dtype: dtype, using: &rng)
        let sigmas = (0..<b).map { _ in settings.maxNoise * rng.nextUnit() }
        let unit = Tensor.normal([b, channels, p, p], dtype: dtype, using: &rng)
        let noise = unit * Tensor(shape: [b, 1, 1, 1], scalars: sigmas).cast(to: dtype)
        var terms: [String: Double] = [:]
        var total: Tensor
        var weighted: [String: Tensor] = [:]
        if isGeneratorStep(batch) {
            let pass = generatorPass(clean: generatorNetwork(z), noise: noise)
            total = pass.total
            weighted["kd"] = pass.total  // the consistency part adds no gradient to the student
            terms["adversarial"] = pass.adversarial
            terms["consistency"] = pass.reconstruction
            terms["kd"] = pass.studentLoss.item
        } else {
            let (x, t) = withoutGradients {
                let x = (generatorNetwork(z) + noise).clamp(min: 0, max: 1)
                return (x, teacher(x))
            }
            total = (student(x) - t).squared().mean()
            weighted["kd"] = total
            terms["kd"] = total.item
        }
        var prediction: Tensor?
        if settings.realDataWeight != 0 {
            let t = withoutGradients { teacher(batch.degraded) }
            let s = student(batch.degraded)
            let real = PixelLoss.l1(s, t)
            terms["real_kd"] = real.item
            weighted["real_kd"] = real * settings.realDataWeight
            total = total + weighted["real_kd"]!
            prediction = s.detached()
        }
        return StepLoss(total: total, terms: terms, prediction: prediction, weightedTerms: weighted)
    }

    public func restore(_ degraded: Tensor) -> Tensor {
        student.eval()
        defer { student.train() }
        return withoutGradients { student(degraded) }
    }
}
