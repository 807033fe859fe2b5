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
              distill:            method (slkd, student_alone, output_kd, fitnets, dfkd, dckd),
                                  pixel_weight, dfkd_* and dckd_* (Docs/Method.md#dfkd, #dckd),
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
        try OptionsTraining.run(arguments, threads: threads, task: .distill)
    }
}
