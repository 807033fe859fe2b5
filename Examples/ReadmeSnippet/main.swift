import Foundation
import Logging
import SLKDDistill
import SLKDModels

// Teacher: the small Restormer bundled for `slkd demo`. With the paper's teacher instead:
//   let teacher = try ModelPreset.restormer.build()
//   try ModelWeights.load(from: URL(fileURLWithPath: "restormer_deraining.pth"), into: teacher)
let teacher = Restormer(ExperimentSettings.demoTeacher, seed: 0)
try ModelWeights.load(from: DemoTeacher.weights(for: ExperimentSettings())!, into: teacher)
let student = Restormer(ExperimentSettings.demoStudent, seed: 0)   // Res-SL of Table I: Restormer(.resSL)

// Pairs: the bundled sample images with synthetic rain. With Rain13K instead:
//   let pairs = try FolderPairedDataset(root: URL(fileURLWithPath: "Rain13K"), layout: .rain13K)
let pairs = try SyntheticPairedDataset.sampleImages(degradation: RainStreaks(), seed: 0)
let data = try PairedDatasetBatchSource(dataset: pairs, batchSize: 2, augmentation: .init(patchSize: 64), seed: 0)

var g = RandomGenerator(seed: 0)
let objective = DistillationObjective(student: student, teacherA: teacher, configuration: .slkd, using: &g)
let run = TrainingRun(network: student, objective: objective, data: data, configuration: .init(totalSteps: 4),
                      logger: Logger(label: "distill"))
try run.run(callbacks: [LoggingCallback(every: 1)])
print("student: \(student.parameterCount) parameters, teacher: \(teacher.parameterCount)")
