// Distils the TinyUNet student from a tiny Restormer teacher with the SLKD loss, on noisy crops of
// the bundled sample images, and prints the loss of every step and the PSNR before and after.
//
//   swift run -c release --package-path Examples CustomStudent [--steps 30] [--teacher-steps 60] [--images FOLDER]
import Foundation
import Logging
import SLKDDistill
import SLKDModels

struct UsageError: Error, CustomStringConvertible { var description: String }

/// `--name value` options with integer or string values.
func parseOptions(_ arguments: [String]) throws -> [String: String] {
    var result: [String: String] = [:]
    var rest = arguments[...]
    while let name = rest.popFirst() {
        guard ["--steps", "--teacher-steps", "--images"].contains(name), let value = rest.popFirst() else {
            throw UsageError(description: "usage: CustomStudent [--steps N] [--teacher-steps N] [--images FOLDER]")
        }
        result[String(name.dropFirst(2))] = value
    }
    return result
}

func positiveInt(_ options: [String: String], _ name: String, default value: Int) throws -> Int {
    guard let text = options[name] else { return value }
    guard let n = Int(text), n > 0 else { throw UsageError(description: "--\(name) needs a positive integer, got '\(text)'") }
    return n
}

func main() throws {
    let options = try parseOptions(Array(CommandLine.arguments.dropFirst()))
    let steps = try positiveInt(options, "steps", default: 30), teacherSteps = try positiveInt(options, "teacher-steps", default: 60)
    let logger = Logger(label: "CustomStudent")

    // Data: 64×64 crops of clean images with Gaussian noise of σ = 50 (0–255 scale). The
    // training crops are drawn once (epoch 0); the test crops come from another seed.
    let cleanURLs: [URL]
    if let folder = options["images"] {
        let files = try FileManager.default.contentsOfDirectory(at: URL(fileURLWithPath: folder), includingPropertiesForKeys: nil)
        cleanURLs = files.filter { $0.pathExtension.lowercased() == "png" }.sorted { $0.path < $1.path }
        guard !cleanURLs.isEmpty else { throw UsageError(description: "\(folder): no PNG files") }
    } else {
        cleanURLs = SampleImages.urls
    }
    let noise = GaussianNoise(sigma: 50...50)
    var training = try SyntheticPairedDataset(cleanURLs: cleanURLs, degradation: noise, seed: 1, redrawsEachEpoch: false)
    training.window = 64
    var test = try SyntheticPairedDataset(cleanURLs: cleanURLs, degradation: noise, seed: 2, redrawsEachEpoch: false)
    test.window = 64
    let pairs = try InMemoryPairedDataset(pairs: (0..<training.count).map { i in
        let pair = try training.pair(at: i)
        return (degraded: pair.degraded, clean: pair.clean)
    })
    let batchSize = min(4, pairs.count)
    // Whole 64×64 crops, flipped at random: the sampler and checkpoints of a folder dataset.
    func batches(seed: UInt64) throws -> PairedBatchSampler {
        try PairedBatchSampler(dataset: pairs, batchSize: batchSize,
                               augmentation: PatchAugmentation(patchSize: 64, flips: true, rotations: false), seed: seed)
    }

    // The teacher: a tiny Restormer, first trained briefly on the pairs themselves so that its
    // outputs and features are worth imitating (a real run loads official weights instead).
    let teacher = Restormer(Restormer.Configuration(dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1,
                                                    heads: [1, 1, 2, 2]), seed: 0)
    var teacherSettings = TrainerConfiguration(totalSteps: teacherSteps)
    teacherSettings.learningRate = 3e-3
    let teacherRun = TrainingRun(network: teacher, objective: SupervisedObjective(model: teacher), data: try batches(seed: 3),
                                 configuration: teacherSettings, logger: logger)
    let teacherSummary = try teacherRun.run()
    print(String(format: "teacher: %d supervised steps, last L1 %.4f", teacherSummary.stepsTaken,
                 teacherSummary.lastResult?.loss ?? .nan))

    // The student, distilled with SLKD: L1 to teacher B (the teacher on the clean image), KL to
    // teacher A, and the BRISQUE/PIQE feature terms through the scale conversion module.
    var generator = RandomGenerator(seed: 4)
    let student = TinyUNet(width: 8, seed: 5)
    let objective = try DistillationConfiguration.slkd.objective(student: student, teacherA: teacher, using: &generator)
    var settings = TrainerConfiguration(totalSteps: steps)
    settings.learningRate = 2e-3
    let run = TrainingRun(network: student, objective: objective, data: try batches(seed: 6), configuration: settings,
                          logger: logger)
    print("student: \(student.parameterCount) parameters, teacher: \(teacher.parameterCount)")
    try run.run(callbacks: [PrintSteps()])

    // PSNR (Y channel, as the restoration papers report it) on the held-out crops.
    func meanPSNR(_ restore: (Tensor) -> Tensor) throws -> Double {
        try TestSetEvaluation.run(test) { restore($0.unsqueezed(axis: 0)).squeezed(axis: 0) }.mean.psnr
    }
    let noisy = try meanPSNR { $0 }
    let teacherPSNR = try meanPSNR { x in withoutGradients { teacher(x) } }
    let studentPSNR = try meanPSNR { objective.restore($0) }
    print(String(format: "PSNR on %d test crops: noisy %.2f dB, teacher %.2f dB, student %.2f dB",
                 test.count, noisy, teacherPSNR, studentPSNR))
}

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
