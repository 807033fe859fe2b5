import Foundation
import SLKDModels

/// The files a ``TrainingRun`` writes under its experiments folder, in BasicSR's layout with
/// safetensors instead of pickles:
///
/// - `training_states/latest.safetensors`: the whole trainer state, for resuming;
/// - `models/net_g_latest.safetensors`: the trained network only, official key names, at the end;
/// - `models/net_g_<step>.safetensors` every ``checkpointInterval`` steps (the newest
///   ``keptSnapshots`` kept);
/// - `metrics.jsonl`: every step's rate, loss, terms and metrics;
/// - `tb_logger/`: TensorBoard events, with ``tensorBoard``;
/// - `train_<name>_<time>.log`: the log lines, when the run's logger writes them (see
///   ``TrainingRun/init(options:task:shard:prefetch:echo:loadWeights:)``).
///
/// Every file is written atomically.
public struct TrainingOutputs: Sendable, Hashable {
    /// The experiments folder (BasicSR: `experiments/<name>`).
    public var folder: URL
    /// Steps between a checkpoint and a weight snapshot.
    public var checkpointInterval: Int
    /// How many `net_g_<step>` snapshots to keep (nil: all).
    public var keptSnapshots: Int?
    /// Whether TensorBoard events are written under `tb_logger/`.
    public var tensorBoard: Bool

    /// - Precondition: `checkpointInterval > 0` and `keptSnapshots` positive when given (values
    ///   from options files are range-checked by ``TrainingOptions`` first).
    public init(folder: URL, checkpointInterval: Int, keptSnapshots: Int? = nil, tensorBoard: Bool = false) {
        precondition(checkpointInterval > 0, "checkpoint interval must be positive")
        self.folder = folder
        self.checkpointInterval = checkpointInterval
        self.keptSnapshots = keptSnapshots
        self.tensorBoard = tensorBoard
    }

    /// The resumable trainer state.
    public var checkpointURL: URL { folder.appendingPathComponent("training_states/latest.safetensors") }
    /// The trained network's final weights.
    public var weightsURL: URL { folder.appendingPathComponent("models/net_g_latest.safetensors") }
    /// The per-step metrics.
    public var metricsURL: URL { folder.appendingPathComponent("metrics.jsonl") }

    /// Creates the folders the files go into.
    func createFolders() throws {
        for url in [checkpointURL, weightsURL] {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
    }

    /// The callbacks that write the files during the run; the checkpoint comes last, so that it
    /// is written after everything the step produced.
    func callbacks(network: any RestorationModel) -> [any TrainingCallback] {
        var callbacks: [any TrainingCallback] = [
            MetricsLog(url: metricsURL),
            WeightSnapshots(every: checkpointInterval, folder: weightsURL.deletingLastPathComponent(), keep: keptSnapshots,
                            network: network),
        ]
        if tensorBoard { callbacks.append(TensorBoardLog(folder: folder.appendingPathComponent("tb_logger"))) }
        callbacks.append(PeriodicCheckpoint(every: checkpointInterval, url: checkpointURL))
        return callbacks
    }
}
