import SLKDDistill
import SLKDModels
import SLKDTensor

/// `--gradient-bytes`: what a data-parallel SLKD step all-reduces for each student of Table I with
/// its teacher: the student's and the scale conversion module's trainable parameters, in bytes
/// of float32 gradients (Docs/Distributed.md's scaling model starts from these).
func printGradientBytes() throws {
    let pairs: [(student: ModelPreset, teacher: ModelPreset)] = [(.resSL, .restormer), (.uforSL, .uformerB), (.drsSL, .drsformer)]
    print("| student | teacher | student parameters | SCM parameters | gradient MB a step (float32) |")
    print("|---|---|---:|---:|---:|")
    for (studentPreset, teacherPreset) in pairs {
        let student = try studentPreset.build(seed: 1), teacher = try teacherPreset.build(seed: 2)
        var generator = RandomGenerator(seed: 3)
        let objective = try DistillationConfiguration.slkd.objective(student: student, teacherA: teacher, using: &generator)
        let counts = objective.trainableModules.map { entry in
            (entry.key, entry.module.trainableParameters().reduce(0) { $0 + $1.tensor.count })
        }
        let studentCount = counts.first { $0.0 == "student" }?.1 ?? 0
        let scmCount = counts.first { $0.0 == "scm" }?.1 ?? 0
        let megabytes = Double(4 * (studentCount + scmCount)) / 1e6
        print("| \(studentPreset.rawValue) | \(teacherPreset.rawValue) | \(studentCount) | \(scmCount) | \(fmt(megabytes, 2)) |")
    }
}
