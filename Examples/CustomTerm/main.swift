// Adds a loss term of your own to SLKD without touching the library: a total-variation term on
// the student's restoration, summed with output-only distillation from a tiny Restormer teacher.
// Prints each step's terms; the custom one appears under its own name, and its requirements
// (none: it reads only the student's output) add no teacher pass.
//
//   swift run -c release --package-path Examples CustomTerm [--steps 5]
import Foundation
import Logging
import SLKDDistill
import SLKDModels

/// Anisotropic total variation of the student's output, mean |∂x S| + mean |∂y S|: a smoothness
/// prior that a user might add to any distillation loss.
struct TotalVariationTerm: DistillationTerm {
    var name: String { "tv" }
    var weight: Double
    /// What the term reads beyond the student's output, which is always there: nothing.
    var requirements: Set<DistillationRequirement> { [] }

    func value(_ inputs: DistillationForward) throws(DistillationInputError) -> Tensor {
        let s = inputs.student
        let (h, w) = (s.shape[2], s.shape[3])
        let dx = s.narrowed(axis: 3, start: 1, length: w - 1) - s.narrowed(axis: 3, start: 0, length: w - 1)
        let dy = s.narrowed(axis: 2, start: 1, length: h - 1) - s.narrowed(axis: 2, start: 0, length: h - 1)
        return dx.abs().mean() + dy.abs().mean()
    }
}

/// A term that reads a teacher's features says so, and the objective runs that tap: here, the
/// mean squared gap between the student's and teacher A's deepest encoder tap after global
/// pooling over channels and space (a stand-in for any feature statistic of your own).
struct PooledFeatureTerm: DistillationTerm {
    var name: String { "pooled" }
    var weight: Double
    var requirements: Set<DistillationRequirement> { [.studentEncoderTaps, .teacherAEncoderTaps] }

    func value(_ inputs: DistillationForward) throws(DistillationInputError) -> Tensor {
        let s = try inputs.taps(.studentEncoderTaps, for: name).last!
        let t = try inputs.taps(.teacherAEncoderTaps, for: name).last!
        return (s.mean() - t.mean().detached()).squared()
    }
}

func main() throws {
    var steps = 5
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.count == 2, arguments[0] == "--steps", let n = Int(arguments[1]), n > 0 {
        steps = n
    } else if !arguments.isEmpty {
        throw UsageError(description: "usage: CustomTerm [--steps N] (N a positive integer)")
    }

    // Data: noisy 64×64 crops of the bundled sample images.
    var data = try SyntheticPairedDataset(cleanURLs: SampleImages.urls, degradation: GaussianNoise(sigma: 25...25), seed: 1,
                                          redrawsEachEpoch: false)
    data.window = 64
    let pairs = try InMemoryPairedDataset(pairs: (0..<data.count).map { i in
        let pair = try data.pair(at: i)
        return (degraded: pair.degraded, clean: pair.clean)
    })
    let batches = try PairedBatchSampler(dataset: pairs, batchSize: min(2, pairs.count),
                                         augmentation: PatchAugmentation(patchSize: 64, flips: true, rotations: false), seed: 2)

    // A tiny teacher and a tinier student of the same family (a real run loads trained weights).
    let teacher = Restormer(Restormer.Configuration(dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1,
                                                    heads: [1, 1, 2, 2]), seed: 0)
    let student = Restormer(Restormer.Configuration(dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1,
                                                    heads: [1, 1, 1, 1]), seed: 1)

    // Output-only KD plus the two terms above. The objective checks every term against the
    // networks first: a term reading a tap no network declares is an error here, not a trap later.
    var generator = RandomGenerator(seed: 3)
    let objective = try DistillationConfiguration.method(.outputKD).objective(
        student: student, teacherA: teacher, adding: [TotalVariationTerm(weight: 0.05), PooledFeatureTerm(weight: 0.01)],
        using: &generator)
    var settings = TrainerConfiguration(totalSteps: steps)
    settings.learningRate = 1e-3
    let run = TrainingRun(network: student, objective: objective, data: batches, configuration: settings,
                          logger: Logger(label: "CustomTerm"))
    try run.run(callbacks: [PrintSteps()])
    if let distillation = objective as? DistillationObjective {
        let passes = distillation.teachers.lastPasses.map { pass in
            "teacher \(pass.roles.map(\.rawValue).sorted().joined(separator: "+")) on \(pass.inputs.map(\.rawValue).joined(separator: "+")), taps \(pass.taps.sorted())"
        }
        print("teacher passes of the last batch: \(passes.joined(separator: "; "))")
    }
}

struct UsageError: Error, CustomStringConvertible { var description: String }

/// Prints every step's loss and terms.
final class PrintSteps: TrainingCallback {
    func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        let terms = result.terms.sorted { $0.key < $1.key }.map { "\($0.key) " + String(format: "%.4f", $0.value) }
        print(String(format: "step %3d  loss %.4f  ", result.step + 1, result.loss) + terms.joined(separator: "  "))
        return .continue
    }
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
