import ArgumentParser
import Foundation
import SLKDDistill
import SLKDModels

/// `slkd train --options FILE.yml`: supervised training of a network (a teacher, usually).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a network on paired folders (supervised, L1 or Charbonnier) from a BasicSR options file.",
        discussion: """
            Reads BasicSR's options layout: network_g, datasets.train (dataroot_lq, dataroot_gt,
            gt_size, batch_size_per_gpu, geometric_augs), datasets.val, train.total_iter,
            train.optim_g (Adam, AdamW), train.scheduler (CosineAnnealingLR,
            CosineAnnealingRestartLR, CosineAnnealingRestartCyclicLR), train.pixel_opt (L1Loss,
            CharbonnierLoss), val.val_freq, logger.print_freq, logger.save_checkpoint_freq, and
            path (experiments_root, pretrain_network_g, resume_state). Images are PNG.

            Writes <experiments>/training_states/latest.safetensors (everything needed to resume
            exactly) and <experiments>/models/net_g_latest.safetensors (the weights, official key
            names). Resuming continues the run as if it had not stopped.

            Examples:
              slkd train --options Options/Deraining_Restormer.yml
              slkd train --options teacher.yml --resume experiments/teacher/training_states/latest.safetensors
            """)

    @OptionGroup var arguments: OptionsFileArguments

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        try OptionsTraining.run(arguments, task: .train)
    }
}
