import SLKDModels

/// The student: a small convolutional U-Net, written from scratch.
///
/// Its taps mirror the teacher's by position — four on the encoder side (three levels and the
/// bottleneck) and four on the decoder side — but not by width: SLKD's scale conversion module
/// maps each student tap into the matching teacher tap's channels and size.
final class TinyUNet: Module, RestorationModel {
    let embed: Conv2d, down1: Conv2d, down2: Conv2d, down3: Conv2d
    let up3: ConvTranspose2d, up2: ConvTranspose2d, up1: ConvTranspose2d
    let refine: Conv2d, output: Conv2d

    init(width w: Int, seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        embed = Conv2d(3, w, kernelSize: 3, padding: 1, using: &g)
        down1 = Conv2d(w, 2 * w, kernelSize: 3, stride: 2, padding: 1, using: &g)
        down2 = Conv2d(2 * w, 4 * w, kernelSize: 3, stride: 2, padding: 1, using: &g)
        down3 = Conv2d(4 * w, 8 * w, kernelSize: 3, stride: 2, padding: 1, using: &g)
        up3 = ConvTranspose2d(8 * w, 4 * w, kernelSize: 2, stride: 2, using: &g)
        up2 = ConvTranspose2d(4 * w, 2 * w, kernelSize: 2, stride: 2, using: &g)
        up1 = ConvTranspose2d(2 * w, w, kernelSize: 2, stride: 2, using: &g)
        refine = Conv2d(w, w, kernelSize: 3, padding: 1, using: &g)
        output = Conv2d(w, 3, kernelSize: 3, padding: 1, using: &g)
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor { forward(x, features: []).image }

    /// Records a stage only when it was asked for, so plain inference keeps nothing.
    func forward(_ x: Tensor, features: Set<String>) -> ModelOutput {
        var r = FeatureRecorder(features)
        let e1 = r.record("enc1", embed(x).gelu())                  // w × H × W
        let e2 = r.record("enc2", down1(e1).gelu())                 // 2w × H/2
        let e3 = r.record("enc3", down2(e2).gelu())                 // 4w × H/4
        let bottleneck = r.record("bottleneck", down3(e3).gelu())   // 8w × H/8
        let d3 = r.record("dec3", up3(bottleneck).gelu() + e3)      // 4w × H/4
        let d2 = r.record("dec2", up2(d3).gelu() + e2)              // 2w × H/2
        let d1 = r.record("dec1", up1(d2).gelu() + e1)              // w × H × W
        let refined = r.record("refined", refine(d1).gelu() + d1)   // w × H × W
        return ModelOutput(image: output(refined) + x, features: r.features)  // global residual
    }

    var featureNames: [String] { ["enc1", "enc2", "enc3", "bottleneck", "dec3", "dec2", "dec1", "refined"] }
    var encoderTaps: [String] { ["enc1", "enc2", "enc3", "bottleneck"] }
    var decoderTaps: [String] { ["dec3", "dec2", "dec1", "refined"] }
    var sizeMultiple: Int { 8 }
    var inputChannels: Int { 3 }
}
