import ArgumentParser

/// `slkd`: SLKD for people who do not write Swift.
@main
struct SLKDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slkd",
        abstract: "Compress image-restoration transformers by Simultaneous Learning Knowledge Distillation.",
        discussion: """
            Examples:
              slkd convert net_g_latest.pth net_g_latest.safetensors
            """,
        subcommands: [DemoCommand.self, TrainCommand.self, DistillCommand.self, ProfileCommand.self, IQACommand.self, ConvertCommand.self])
}
