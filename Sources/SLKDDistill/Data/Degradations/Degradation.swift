import SLKDTensor

/// A synthetic degradation that turns a clean image into a training input.
///
/// Images are `C×H×W` tensors in [0, 1]. Every random choice is drawn from the generator passed
/// in, so the same seed gives the same degraded image on every machine.
public protocol Degradation: Sendable {
    /// The degraded image, clipped to [0, 1], with the input's shape and dtype.
    func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor
}

/// Several degradations applied in order (e.g. rain streaks, then sensor noise).
public struct DegradationPipeline: Degradation {
    public var steps: [any Degradation]

    public init(_ steps: [any Degradation]) { self.steps = steps }

    public func apply(to image: Tensor, using generator: inout RandomGenerator) -> Tensor {
        steps.reduce(image) { current, step in step.apply(to: current, using: &generator) }
    }
}

extension RandomGenerator {
    /// A uniform draw from a closed range (its lower bound when the range is a single point).
    package mutating func draw(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUnit()
    }
}

/// A `C×H×W` image as planes of `Float`, the working form of the degradations.
package struct ImagePlanes {
    package var channels: Int, height: Int, width: Int
    package var values: [Float]

    package init(_ image: Tensor) {
        precondition(image.rank == 3, "degradations take C×H×W images, got shape \(image.shape)")
        channels = image.shape[0]; height = image.shape[1]; width = image.shape[2]
        values = image.floats
    }

    package init(channels: Int, height: Int, width: Int, values: [Float]) {
        self.channels = channels; self.height = height; self.width = width; self.values = values
    }

    /// Back to a tensor of `dtype`, clipped to [0, 1].
    package func tensor(dtype: DType) -> Tensor {
        Tensor(shape: [channels, height, width], scalars: values.map { Swift.min(Swift.max($0, 0), 1) }).cast(to: dtype)
    }
}
