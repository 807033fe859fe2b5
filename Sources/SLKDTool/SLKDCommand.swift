import ArgumentParser
import SLKDTensor

/// `slkd`: SLKD for people who do not write Swift.
@main
struct SLKDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slkd",
        abstract: "Compress image-restoration transformers by Simultaneous Learning Knowledge Distillation.",
        discussion: """
            Examples:
              slkd demo                                   # the whole method on the bundled images
              slkd train --options teacher.yml            # supervised training (BasicSR options)
              slkd distill --options distill.yml          # SLKD or a baseline
              slkd restore --arch res-sl --weights res-sl.safetensors rainy/ --output restored/
              slkd eval --arch res-sl --weights res-sl.safetensors --data Rain100H --output report/
              slkd profile res-sl --size 512 512
              slkd iqa photo.png --reference clean.png --json
              slkd convert net_g_latest.pth net_g_latest.safetensors
              slkd weights list                           # trained weights that ship with SLKD
              slkd demo --quick --threads 1                # one worker thread (every compute command)
              slkd --generate-completion-script bash       # shell completion: bash, zsh or fish
            """,
        version: SLKDVersion.current,
        subcommands: [DemoCommand.self, TrainCommand.self, DistillCommand.self, RestoreCommand.self, EvalCommand.self,
                      ProfileCommand.self, IQACommand.self, ConvertCommand.self, WeightsCommand.self])
}
