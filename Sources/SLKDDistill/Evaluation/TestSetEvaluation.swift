import Foundation
import SLKDQuality
import SLKDTensor

/// How restored images are scored (BasicSR's `calculate_psnr` / `calculate_ssim` options).
public struct EvaluationOptions: Codable, Sendable, Equatable {
    /// Compare the Y channel of YCbCr (BT.601, BasicSR's `test_y_channel`) of RGB images.
    public var testYChannel: Bool
    /// Pixels removed from each side before scoring (`crop_border`).
    public var cropBorder: Int
    /// Round both images to 8 bits first, as saving the restored one as PNG would (BasicSR's
    /// `tensor2img`: clamp to [0, 1], ×255, round half to even; clean images read from 8-bit PNGs
    /// are unchanged by it). Without it the clamped values are compared unrounded, ×255.
    public var quantizeTo8Bit: Bool

    public init(testYChannel: Bool = true, cropBorder: Int = 0, quantizeTo8Bit: Bool = true) {
        precondition(cropBorder >= 0, "cropBorder must be non-negative, got \(cropBorder)")
        self.testYChannel = testYChannel
        self.cropBorder = cropBorder
        self.quantizeTo8Bit = quantizeTo8Bit
    }
}

/// Why an evaluation stopped: the message names the image.
public enum EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A pair could not be read.
    case dataset(DatasetError)
    /// The restoration closure threw.
    case restorationFailed(image: String, message: String)
    /// The restoration returned an image of another shape than its input.
    case wrongOutputShape(image: String, expected: [Int], actual: [Int])
    /// PSNR or SSIM refused the image (too small for the crop or window, non-finite values…).
    case metricFailed(image: String, message: String)
    /// A report or restored image could not be written.
    case writeFailed(path: String, message: String)

    public var description: String {
        switch self {
        case .dataset(let error): return error.description
        case .restorationFailed(let image, let message): return "evaluation: restoring '\(image)' failed: \(message)"
        case .wrongOutputShape(let image, let expected, let actual):
            return "evaluation: restoring '\(image)' returned shape \(actual), expected \(expected)"
        case .metricFailed(let image, let message): return "evaluation: scoring '\(image)' failed: \(message)"
        case .writeFailed(let path, let message): return "evaluation: cannot write '\(path)': \(message)"
        }
    }
}

/// Scores a restoration over a test set with PSNR and SSIM (`FullReference` of SLKDQuality, BasicSR
/// conventions, on the 0–255 scale).
public enum TestSetEvaluation {
    /// Restores every pair of `dataset` with `restore` (`C×H×W` in [0, 1] → same shape) and scores it
    /// against the clean image.
    ///
    /// - Parameters:
    ///   - dataset: the test pairs, each read once, in order (epoch 0).
    ///   - name: the test set's name for the report.
    ///   - options: how PSNR and SSIM are computed (Y channel, border crop, 8-bit quantisation).
    ///   - restoredImagesFolder: when given, each restored image is also written there as an 8-bit
    ///     PNG under the pair's name with the extension `.png` (`rain/1.jpg` → `rain/1.png`;
    ///     sub-folders created as needed), as the official test scripts save their results.
    ///   - progress: called after each image with its score.
    ///   - restore: the restoration of one degraded `C×H×W` image, run without recording gradients.
    public static func run(_ dataset: any PairedDataset, name: String? = nil, options: EvaluationOptions = .init(),
                           restoredImagesFolder: URL? = nil,
                           progress: (EvaluationReport.ImageScore) -> Void = { _ in },
                           restore: (Tensor) throws -> Tensor) throws(EvaluationError) -> EvaluationReport {
        var scores: [EvaluationReport.ImageScore] = []
        for i in 0..<dataset.count {
            let pair: ImagePair
            do { pair = try dataset.pair(at: i) } catch { throw .dataset(error) }
            let restored: Tensor
            do {
                restored = try withoutGradients { try restore(pair.degraded) }
            } catch {
                throw .restorationFailed(image: pair.name, message: String(describing: error))
            }
            guard restored.shape == pair.clean.shape else {
                throw .wrongOutputShape(image: pair.name, expected: pair.clean.shape, actual: restored.shape)
            }
            if let folder = restoredImagesFolder {
                let url = folder.appendingPathComponent(pair.name).deletingPathExtension().appendingPathExtension("png")
                do {
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try restored.writePNG(to: url)
                } catch {
                    throw .writeFailed(path: url.path, message: String(describing: error))
                }
            }
            let score = try self.score(restored, against: pair.clean, name: pair.name, options: options)
            scores.append(score)
            progress(score)
        }
        return EvaluationReport(dataset: name, options: options, images: scores)
    }

    /// PSNR and SSIM of one restored image (`C×H×W` in [0, 1]) against its clean reference.
    public static func score(_ restored: Tensor, against clean: Tensor, name: String,
                             options: EvaluationOptions) throws(EvaluationError) -> EvaluationReport.ImageScore {
        let metricOptions = FullReference.Options(testYChannel: options.testYChannel, cropBorder: options.cropBorder)
        do {
            let image = try QualityImage(toScale255(restored, quantize: options.quantizeTo8Bit))
            let reference = try QualityImage(toScale255(clean, quantize: options.quantizeTo8Bit))
            return EvaluationReport.ImageScore(
                image: name,
                psnr: try FullReference.psnr(image, reference, options: metricOptions),
                ssim: try FullReference.ssim(image, reference, options: metricOptions))
        } catch {
            throw .metricFailed(image: name, message: String(describing: error))
        }
    }

    /// [0, 1] → [0, 255] as Float64, clamped, rounded half to even when `quantize` (NumPy's `round`).
    /// NaN is left for the metrics to reject.
    static func toScale255(_ image: Tensor, quantize: Bool) -> Tensor {
        let values = image.doubles.map { x -> Double in
            guard !x.isNaN else { return x }
            let v = Swift.min(Swift.max(x, 0), 1) * 255
            return quantize ? v.rounded(.toNearestOrEven) : v
        }
        return Tensor(shape: image.shape, scalars: values)
    }
}
