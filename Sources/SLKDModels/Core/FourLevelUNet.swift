/// The four-level encoder–decoder of Restormer (Zamir et al. 2022, Fig. 2), which DRSformer
/// reuses with its own transformer blocks: three downsamplings to the latent level, three
/// upsamplings back, and each decoder level reading `cat[upsampled, skip]`, reduced by a 1×1
/// convolution at levels 3 and 2 but not at level 1.
///
/// One walk for both models, so that the order of the stages and the names their outputs are
/// recorded under (the official module names) are written once.
struct FourLevelUNet<Level> {
    /// `encoder_level1`, `encoder_level2`, `encoder_level3`, `latent`.
    var encoders: [Level]
    /// `down1_2`, `down2_3`, `down3_4`.
    var downsamples: [Downsample]
    /// `up4_3`, `up3_2`, `up2_1`.
    var upsamples: [Upsample]
    /// `reduce_chan_level3`, `reduce_chan_level2`.
    var channelReductions: [Conv2d]
    /// `decoder_level3`, `decoder_level2`, `decoder_level1`.
    var decoders: [Level]
    /// Runs one level's blocks on its input.
    var run: (Level, Tensor) -> Tensor

    /// `decoder_level1`'s output for the level-1 input `x`, recording every stage in `recorder`.
    func callAsFunction(_ x: Tensor, recording recorder: inout FeatureRecorder) -> Tensor {
        let e1 = recorder.record("encoder_level1", run(encoders[0], x))
        let e2 = recorder.record("encoder_level2", run(encoders[1], downsamples[0](e1)))
        let e3 = recorder.record("encoder_level3", run(encoders[2], downsamples[1](e2)))
        let l = recorder.record("latent", run(encoders[3], downsamples[2](e3)))
        // torch.cat order is always [upsampled, skip].
        let d3 = recorder.record("decoder_level3", run(decoders[0],
                                 channelReductions[0](Tensor.concatenated([upsamples[0](l), e3], axis: 1))))
        let d2 = recorder.record("decoder_level2", run(decoders[1],
                                 channelReductions[1](Tensor.concatenated([upsamples[1](d3), e2], axis: 1))))
        return recorder.record("decoder_level1", run(decoders[2], Tensor.concatenated([upsamples[2](d2), e1], axis: 1)))
    }
}
