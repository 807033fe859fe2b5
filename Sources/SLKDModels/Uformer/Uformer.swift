import SLKDTensor

// Uformer (Wang et al., CVPR 2022; official `model.py`): a U-Net of LeWin transformer layers on
// token maps (official [B, H·W, C]; here channel-major [B, C, H, W], see LeWin.swift). Encoder layers at C, 2C, 4C, 8C (4×4 stride-2 conv between them),
// a transformer bottleneck `conv` at 16C and H/16, decoder layers on [upsampled, skip] with
// 2×2 transposed-conv upsampling, and a 3×3 output projection plus the input image.

/// `InputProj`: 3×3 conv (bias) + LeakyReLU(0.01), key `proj.0`.
public final class UformerInputProjection: Module {
    public let proj: Sequential

    init(inChannels: Int, outChannels: Int, using generator: inout RandomGenerator) {
        proj = Sequential([Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, using: &generator),
                           Lambda { $0.leakyReLU(slope: 0.01) }])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { proj(x) }
}

/// `OutputProj`: 3×3 conv (bias), key `proj.0`, on the image-shaped map.
public final class UformerOutputProjection: Module {
    public let proj: Sequential

    init(inChannels: Int, outChannels: Int, using generator: inout RandomGenerator) {
        proj = Sequential([Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, using: &generator)])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { proj(x) }
}

/// Uformer's `Downsample`: 4×4 conv, stride 2, padding 1 (bias), key `conv.0`.
public final class UformerDownsample: Module {
    public let conv: Sequential

    init(_ inChannels: Int, _ outChannels: Int, using generator: inout RandomGenerator) {
        conv = Sequential([Conv2d(inChannels, outChannels, kernelSize: 4, stride: 2, padding: 1, using: &generator)])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// Uformer's `Upsample`: 2×2 transposed conv, stride 2 (bias), key `deconv.0`.
public final class UformerUpsample: Module {
    public let deconv: Sequential

    init(_ inChannels: Int, _ outChannels: Int, using generator: inout RandomGenerator) {
        deconv = Sequential([ConvTranspose2d(inChannels, outChannels, kernelSize: 2, stride: 2, using: &generator)])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { deconv(x) }
}

/// Uformer, the official `Uformer` class with `token_projection='linear'`, `token_mlp='leff'`.
///
/// Parameter keys equal the official state_dict (including the int64
/// `relative_position_index` buffers and the `dowsample_i` spelling), so `state_dict` checkpoints
/// load unchanged. Inputs must be square with a side that is a multiple of ``sizeMultiple``
/// (every level must split into whole windows).
///
/// ```swift
/// var g = RandomGenerator(seed: 0)
/// let student = try Uformer(.uforSL, using: &g)
/// let restored = student(noisy)                       // [B, 3, H, W]
/// let taps = student.forwardWithTaps(noisy)           // DRL / IRL features, image-shaped
/// ```
public final class Uformer: Module, RestorationModel {
    public let configuration: Configuration

    @Submodule(key: "input_proj") public var inputProj: UformerInputProjection
    @Submodule(key: "output_proj") public var outputProj: UformerOutputProjection
    @Submodule(key: "encoderlayer_0") public var encoderLayer0: BasicUformerLayer
    @Submodule(key: "dowsample_0") public var downsample0: UformerDownsample
    @Submodule(key: "encoderlayer_1") public var encoderLayer1: BasicUformerLayer
    @Submodule(key: "dowsample_1") public var downsample1: UformerDownsample
    @Submodule(key: "encoderlayer_2") public var encoderLayer2: BasicUformerLayer
    @Submodule(key: "dowsample_2") public var downsample2: UformerDownsample
    @Submodule(key: "encoderlayer_3") public var encoderLayer3: BasicUformerLayer
    @Submodule(key: "dowsample_3") public var downsample3: UformerDownsample
    /// The bottleneck (a transformer layer, despite its official name `conv`).
    @Submodule(key: "conv") public var bottleneck: BasicUformerLayer
    @Submodule(key: "upsample_0") public var upsample0: UformerUpsample
    @Submodule(key: "decoderlayer_0") public var decoderLayer0: BasicUformerLayer
    @Submodule(key: "upsample_1") public var upsample1: UformerUpsample
    @Submodule(key: "decoderlayer_1") public var decoderLayer1: BasicUformerLayer
    @Submodule(key: "upsample_2") public var upsample2: UformerUpsample
    @Submodule(key: "decoderlayer_2") public var decoderLayer2: BasicUformerLayer
    @Submodule(key: "upsample_3") public var upsample3: UformerUpsample
    @Submodule(key: "decoderlayer_3") public var decoderLayer3: BasicUformerLayer

    /// Builds the network with freshly initialised weights (the official `_init_weights`: Linear
    /// trunc_normal(0.02) and zero bias, LayerNorm 1/0, bias tables trunc_normal(0.02); convs and
    /// the modulator embedding with PyTorch's defaults).
    ///
    /// - Throws: ``UformerConfigurationError`` for a configuration this port cannot build.
    public init(_ configuration: Configuration, using generator: inout RandomGenerator) throws(UformerConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        super.init()
        let c = configuration, dims = c.layerDims, res = c.layerResolutions
        func layer(_ i: Int, modulator: Bool) -> BasicUformerLayer {
            BasicUformerLayer(dim: dims[i], resolution: res[i], depth: c.depths[i], numHeads: c.numHeads[i],
                              window: c.winSize, mlpRatio: c.mlpRatio, qkvBias: c.qkvBias, qkScale: c.qkScale,
                              shiftFlag: c.shiftFlag, modulator: modulator, using: &generator)
        }
        let e = c.embedDim
        // Official construction order (it fixes the random stream; keys do not depend on it).
        inputProj = UformerInputProjection(inChannels: c.ddIn, outChannels: e, using: &generator)
        outputProj = UformerOutputProjection(inChannels: 2 * e, outChannels: c.inChans, using: &generator)
        encoderLayer0 = layer(0, modulator: false)
        downsample0 = UformerDownsample(e, 2 * e, using: &generator)
        encoderLayer1 = layer(1, modulator: false)
        downsample1 = UformerDownsample(2 * e, 4 * e, using: &generator)
        encoderLayer2 = layer(2, modulator: false)
        downsample2 = UformerDownsample(4 * e, 8 * e, using: &generator)
        encoderLayer3 = layer(3, modulator: false)
        downsample3 = UformerDownsample(8 * e, 16 * e, using: &generator)
        bottleneck = layer(4, modulator: false)
        upsample0 = UformerUpsample(16 * e, 8 * e, using: &generator)
        decoderLayer0 = layer(5, modulator: c.modulator)
        upsample1 = UformerUpsample(16 * e, 4 * e, using: &generator)
        decoderLayer1 = layer(6, modulator: c.modulator)
        upsample2 = UformerUpsample(8 * e, 2 * e, using: &generator)
        decoderLayer2 = layer(7, modulator: c.modulator)
        upsample3 = UformerUpsample(4 * e, e, using: &generator)
        decoderLayer3 = layer(8, modulator: c.modulator)
    }

    // MARK: RestorationModel

    public var featureNames: [String] {
        ["input_proj", "encoderlayer_0", "encoderlayer_1", "encoderlayer_2", "encoderlayer_3", "conv",
         "decoderlayer_0", "decoderlayer_1", "decoderlayer_2", "decoderlayer_3"]
    }
    public var encoderTaps: [String] { ["encoderlayer_0", "encoderlayer_1", "encoderlayer_2", "encoderlayer_3"] }
    public var decoderTaps: [String] { ["decoderlayer_0", "decoderlayer_1", "decoderlayer_2", "decoderlayer_3"] }
    /// Four halvings, then whole windows at the bottleneck.
    public var sizeMultiple: Int { configuration.winSize * 16 }
    public var requiresSquareInput: Bool { true }
    public var inputChannels: Int { configuration.ddIn }

    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input, features: []).image }

    /// The restored image (plus the input when `dd_in` is 3) and the requested stage outputs,
    /// image-shaped B×C×H×W (the official token tensors viewed as maps).
    public func forward(_ input: Tensor, features: Set<String>) -> ModelOutput {
        precondition(input.rank == 4 && input.shape[1] == configuration.ddIn,
                     "Uformer expects B×\(configuration.ddIn)×H×W input, got \(input.shape)")
        let side = input.shape[2]
        precondition(input.shape[3] == side, "Uformer needs a square input (the official code takes H = W = √L), got \(input.shape)")
        precondition(side % 16 == 0, "Uformer input side \(side) must be a multiple of 16 (and of win_size·16 = \(sizeMultiple) for the default windows)")
        var recorder = FeatureRecorder(features)
        // Every stage map is [B, C, H, W]: the official tokens, channel-major.
        let y = recorder.record("input_proj", inputProj(input))
        let conv0 = recorder.record("encoderlayer_0", encoderLayer0(y))
        let conv1 = recorder.record("encoderlayer_1", encoderLayer1(downsample0(conv0)))
        let conv2 = recorder.record("encoderlayer_2", encoderLayer2(downsample1(conv1)))
        let conv3 = recorder.record("encoderlayer_3", encoderLayer3(downsample2(conv2)))
        let conv4 = recorder.record("conv", bottleneck(downsample3(conv3)))
        // torch.cat([up, skip], -1) over token channels: the upsampled map's channels first.
        func merge(_ up: Tensor, _ skip: Tensor) -> Tensor { Tensor.concatenated([up, skip], axis: 1) }
        let deconv0 = recorder.record("decoderlayer_0", decoderLayer0(merge(upsample0(conv4), conv3)))
        let deconv1 = recorder.record("decoderlayer_1", decoderLayer1(merge(upsample1(deconv0), conv2)))
        let deconv2 = recorder.record("decoderlayer_2", decoderLayer2(merge(upsample2(deconv1), conv1)))
        let deconv3 = recorder.record("decoderlayer_3", decoderLayer3(merge(upsample3(deconv2), conv0)))
        let out = outputProj(deconv3)
        return ModelOutput(image: configuration.ddIn == 3 ? input + out : out, features: recorder.features)
    }
}
