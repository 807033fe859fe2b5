/// The ranges of the numeric options outside `network_g` (whose ranges are
/// `ConfigurationLimits`'s). Each is wide enough for every official BasicSR, Restormer and
/// DRSformer file and narrow enough that no value reaches a trap, an overflow or a malloc abort.
public enum OptionsLimits {
    /// `manual_seed`: a non-negative integer (the generator takes it as `UInt64`).
    public static let seed = 0...Int.max
    /// `train.total_iter`, `T_max`, `periods[i]`, `val_freq`, `save_checkpoint_freq`, `print_freq`.
    public static let steps = 1...1_000_000_000
    /// `logger.keep_checkpoints`: how many weight snapshots to keep.
    public static let keptSnapshots = 1...1_000_000
    /// At most this many restart periods.
    public static let maximumPeriods = 1_000
    /// `gt_size`: the training patch side (official files use 128–384).
    public static let patchSide = 1...4096
    /// `batch_size_per_gpu`.
    public static let batchSize = 1...1024
    /// `lr`, `eta_min`, `eta_mins[i]`.
    public static let learningRate = 0.0...1.0
    /// `weight_decay`.
    public static let weightDecay = 0.0...1.0
    /// Adam's `betas`: each below 1, or the bias correction divides by zero.
    public static let beta = 0.0...0.999_999_999
    /// `restart_weights[i]`.
    public static let restartWeight = 0.0...1_000.0
    /// `grad_clip_norm`, `eps`, `kl_temperature`, `mscn_constant`: positive scales.
    public static let positiveScale = 1e-12...1e12
    /// Loss weights in `distill`.
    public static let lossWeight = 0.0...1e6
    /// `distill.dfkd_generator_interval`: steps per generator update.
    public static let generatorInterval = 1...1_000_000
    /// `distill.dfkd_latent_size` and `distill.dfkd_generator_width`.
    public static let generatorSize = 1...4096
    /// `distill.dfkd_image_size`: the generated images' side (also a multiple of 4).
    public static let generatedImageSide = 4...1024
    /// `distill.dfkd_max_noise`: the noise operator's largest σ (images in [0, 1]).
    public static let noiseLevel = 0.0...1.0
    /// The estimated activation memory of one training step, in bytes
    /// (``activationBytes(batch:patch:width:)``); 64 GiB refuses absurd batch × patch combinations
    /// while leaving every published configuration far inside.
    public static let maximumActivationBytes: Double = 64 * 1_073_741_824

    /// A rough upper estimate of one training step's stored activations: `batch · patch² · width`
    /// float32 values per full-resolution feature map, and about 64 such maps over the U-Net's
    /// levels, blocks and their backward buffers.
    public static func activationBytes(batch: Int, patch: Int, width: Int) -> Double {
        Double(batch) * Double(patch) * Double(patch) * Double(width) * 4 * 64
    }
}
