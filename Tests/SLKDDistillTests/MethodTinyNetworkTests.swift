import Foundation
import Logging
import SLKDModels
import Testing
import SLKDDistill

/// A two-level convolutional encoder–decoder conforming to `RestorationModel`, standing in for
/// the transformer families in the method's tests: taps `enc1` (B×w×H×W), `enc2`
/// (B×2w×H/2×W/2) on the encoder side and `dec1`, `dec0` (B×w×H×W) on the decoder side.
final class TinyRestorer: Module, RestorationModel {
    let head: Conv2d
    let down: Conv2d
    let up: ConvTranspose2d
    let tail: Conv2d

    init(width: Int, dtype: DType = .float32, seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        head = Conv2d(3, width, kernelSize: 3, padding: 1, dtype: dtype, using: &g)
        down = Conv2d(width, 2 * width, kernelSize: 3, stride: 2, padding: 1, dtype: dtype, using: &g)
        up = ConvTranspose2d(2 * width, width, kernelSize: 2, stride: 2, dtype: dtype, using: &g)
        tail = Conv2d(width, 3, kernelSize: 3, padding: 1, dtype: dtype, using: &g)
        super.init()
    }

    func callAsFunction(_ input: Tensor) -> Tensor { forward(input, features: []).image }

    func forward(_ input: Tensor, features: Set<String>) -> ModelOutput {
        var r = FeatureRecorder(features)
        let e1 = r.record("enc1", head(input).relu())
        let e2 = r.record("enc2", down(e1).relu())
        let d1 = r.record("dec1", up(e2).relu())
        let d0 = r.record("dec0", d1 + e1)
        return ModelOutput(image: tail(d0) + input, features: r.features)
    }

    var featureNames: [String] { ["enc1", "enc2", "dec1", "dec0"] }
    var encoderTaps: [String] { ["enc1", "enc2"] }
    var decoderTaps: [String] { ["dec1", "dec0"] }
    var sizeMultiple: Int { 2 }
    var inputChannels: Int { 3 }
}

/// Synthetic restoration pairs: smooth clean images (sums of a few oriented ramps and a
/// sinusoid) and noisy degraded copies, all C×H×W in [0, 1].
func syntheticPairs(count: Int, size: Int, noise: Double = 0.08, dtype: DType = .float32, seed: UInt64) -> [(degraded: Tensor, clean: Tensor)] {
    var g = RandomGenerator(seed: seed)
    return (0..<count).map { _ in
        var clean = [Double](), degraded = [Double]()
        let (a, b, f) = (g.nextUnit(), g.nextUnit(), 1 + 3 * g.nextUnit())
        for c in 0..<3 {
            let tint = 0.6 + 0.4 * g.nextUnit()
            for y in 0..<size {
                for x in 0..<size {
                    let u = Double(x) / Double(size), v = Double(y) / Double(size)
                    let value = tint * (0.25 + 0.35 * (a * u + b * v) + 0.2 * Foundation.sin(f * 6.28 * (u + 0.5 * v + Double(c) * 0.1)))
                    clean.append(value)
                    degraded.append(value + noise * g.nextNormal())
                }
            }
        }
        return (Tensor(shape: [3, size, size], scalars: degraded).cast(to: dtype), Tensor(shape: [3, size, size], scalars: clean).cast(to: dtype))
    }
}

/// A logger that writes nothing (the library never bootstraps the logging system).
let quietLogger: Logger = {
    var logger = Logger(label: "slkd.tests", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

@Suite("Method test network")
struct MethodTinyNetworkTests {
    @Test func recordsItsTapsWithTheDocumentedShapes() {
        let net = TinyRestorer(width: 4, seed: 1)
        let x = Tensor.zeros([2, 3, 8, 8])
        let (image, encoder, decoder) = net.forwardWithTaps(x)
        #expect(image.shape == [2, 3, 8, 8])
        #expect(encoder.map(\.shape) == [[2, 4, 8, 8], [2, 8, 4, 4]])
        #expect(decoder.map(\.shape) == [[2, 4, 8, 8], [2, 4, 8, 8]])
        #expect(net(x).shape == [2, 3, 8, 8])
    }

    @Test func scmProbesTapWidthsFromTheNetworks() {
        var g = RandomGenerator(seed: 0)
        let scm = ScaleConversionModule(student: TinyRestorer(width: 2, seed: 1), teacher: TinyRestorer(width: 5, seed: 2), using: &g)
        #expect(scm.studentChannels == [2, 4, 2, 2])
        #expect(scm.teacherChannels == [5, 10, 5, 5])
        #expect(scm.decoderTapOffset == 2)
    }
}

/// Whole `pairs` served in batches by the pipeline's sampler (what the removed in-memory source
/// did): one patch the size of the images, optional flips, no turns.
func inMemorySource(pairs: [(degraded: Tensor, clean: Tensor)], batchSize: Int, randomFlips: Bool = false,
                    seed: UInt64 = 0) throws -> PairedBatchSampler {
    let side = pairs[0].clean.shape[pairs[0].clean.rank - 1]
    return try PairedBatchSampler(dataset: try InMemoryPairedDataset(pairs: pairs), batchSize: batchSize,
                                  augmentation: PatchAugmentation(patchSize: side, flips: randomFlips, rotations: false), seed: seed)
}
