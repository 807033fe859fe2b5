import Foundation
import SLKDTensor

/// Writes the trained network's weights as `net_g_<step>.safetensors` every `interval` steps (as
/// BasicSR's `save_checkpoint_freq` does with `net_g_<iter>.pth`), and keeps the newest `keep`
/// of them, deleting older snapshots this run wrote or found in the folder.
///
/// The files hold the network's state dictionary under the official key names, so
/// `slkd restore --weights models/net_g_4000.safetensors` and PyTorch's `safetensors` read them.
/// Skipped (non-finite) steps never trigger a snapshot.
public final class WeightSnapshots: TrainingCallback {
    /// Steps between snapshots.
    public let interval: Int
    /// The folder holding the snapshots (BasicSR: `experiments/<name>/models`).
    public let folder: URL
    /// How many snapshots to keep (nil: all).
    public let keep: Int?
    private let stateDictionary: () -> [String: Tensor]

    /// Snapshots of `network` every `interval` steps into `folder`, at most `keep` of them.
    public init(every interval: Int, folder: URL, keep: Int? = nil, network: Module) {
        precondition(interval > 0, "snapshot interval must be positive")
        precondition(keep.map { $0 > 0 } ?? true, "keep must be positive")
        self.interval = interval
        self.folder = folder
        self.keep = keep
        stateDictionary = { network.stateDictionary() }
    }

    /// The file of the snapshot at `step`.
    public func url(atStep step: Int) -> URL { folder.appendingPathComponent("net_g_\(step).safetensors") }

    public func trainer(_ trainer: Trainer, didComplete result: StepResult) throws -> TrainingControl {
        guard !result.skipped, trainer.step % interval == 0 else { return .continue }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tensors = stateDictionary().sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        try SafeTensors.write(tensors, to: url(atStep: trainer.step))
        try prune()
        return .continue
    }

    /// The steps of the snapshots in the folder, oldest first.
    public func snapshotSteps() throws -> [Int] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("net_g_"), name.hasSuffix(".safetensors") else { return nil }
            return Int(name.dropFirst("net_g_".count).dropLast(".safetensors".count))
        }.sorted()
    }

    private func prune() throws {
        guard let keep else { return }
        for step in try snapshotSteps().dropLast(keep) {
            try FileManager.default.removeItem(at: url(atStep: step))
        }
    }
}
