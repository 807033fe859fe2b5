import ArgumentParser
import Foundation
import SLKDDistill
import SLKDModels
import SLKDTensor

/// `slkd distill --options FILE.yml`: SLKD (or a baseline) from frozen teachers to a student.
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distill a student from frozen teachers with SLKD or a baseline, from a BasicSR-style options file.",
        discussion: """
            The options are those of `slkd train` (network_g is the student) plus:
              network_teacher:    teacher A, same keys as network_g (type: Restormer, …), or
                                  {type: bundled, name: demo-teacher} for weights that ship with
                                  SLKD (slkd weights list), which need no pretrain path
              network_teacher_b:  optional separate teacher B (default: teacher A's weights)
              path.pretrain_network_teacher(_b): the teachers' weights (.pth or .safetensors)
              distill:            method (slkd, student_alone, output_kd, fitnets), pixel_weight,
                                  kl_weight, degradation_removal_weight, reconstruction_weight,
                                  fitnets_weight, teacher_b_input (clean, degraded),
                                  use_degradation_removal, use_image_reconstruction,
                                  pixel_target (teacher_b, ground_truth), kl_temperature,
                                  scm_init (random, least_squares: the SCM fitted to the
                                  teachers' features on the first batch), …
            Defaults follow the SLKD spec: L = L1 + 0.5·KL + 0.1·(L_nc + L_et), teacher B on the
            clean image. Checkpoints hold the student, the scale conversion modules, optimizer,
            schedule, generators and data order; --resume continues exactly.

            Examples:
              slkd distill --options Options/Distill_ResSL.yml
              slkd distill --options distill.yml --resume experiments/res_sl/training_states/latest.safetensors
            """)

    @OptionGroup var arguments: OptionsFileArguments

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        let (parsed, student) = try arguments.load()
        let options = arguments.options
        let method = parsed.distillation.method
        var teacherA: (any RestorationModel)?
        var teacherB: (any RestorationModel)?
        if method != .studentAlone {
            guard let section = parsed.teacher else {
                throw ToolError("\(options): method '\(method.reportName)' needs a 'network_teacher' section")
            }
            if let bundled = Self.bundledName(section) {
                teacherA = try ToolError.wrap(options) { try BundledWeights.named(bundled).loadModel() }
            } else {
                guard let weights = parsed.teacherWeights else {
                    throw ToolError("\(options): 'path.pretrain_network_teacher' (the teacher's weights) is missing")
                }
                let a = try ToolError.wrap(options) { try NetworkOptions.build(network: section, section: "network_teacher") }
                try ModelSource.loadWeights(weights.path, into: a, network: "network_teacher", memory: arguments.memory)
                teacherA = a
            }
            if let sectionB = parsed.teacherB {
                guard let weightsB = parsed.teacherBWeights else {
                    throw ToolError("\(options): 'path.pretrain_network_teacher_b' (teacher B's weights) is missing")
                }
                let b = try ToolError.wrap(options) { try NetworkOptions.build(network: sectionB, section: "network_teacher_b") }
                try ModelSource.loadWeights(weightsB.path, into: b, network: "network_teacher_b", memory: arguments.memory)
                teacherB = b
            }
        }
        let objective: any TrainingObjective
        if let teacherA {
            var generator = RandomGenerator(seed: parsed.seed &+ 1)
            objective = DistillationObjective(student: student, teacherA: teacherA, teacherB: teacherB,
                                              configuration: parsed.distillation, using: &generator)
        } else {
            objective = SupervisedObjective(model: student, pixelLoss: parsed.pixelLoss)
        }
        try OptionsTraining(options: parsed, network: student, objective: objective, memory: arguments.memory)
            .run(resume: arguments.resumeURL(parsed))
    }

    /// The name in `network_teacher: {type: bundled, name: demo-teacher}`, the form that takes
    /// the network and its weights from ``BundledWeights``.
    static func bundledName(_ section: [String: Any]) -> String? {
        guard section["type"] as? String == "bundled" else { return nil }
        return section["name"] as? String ?? ""
    }
}
