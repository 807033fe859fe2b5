import SLKDTensor

/// Pixel losses between a restored image and its target.
public enum PixelLoss {
    /// Mean absolute error, the L1 loss of eq. (5) and of BasicSR's `L1Loss` (reduction mean).
    public static func l1(_ prediction: Tensor, _ target: Tensor) -> Tensor {
        precondition(prediction.shape == target.shape, "L1 loss: shapes \(prediction.shape) and \(target.shape) differ")
        return (prediction - target).abs().mean()
    }

    /// Charbonnier loss mean(√((x − y)² + ε²)), BasicSR's `CharbonnierLoss` (ε = 1e-3), a smooth
    /// L1 used to train restoration teachers.
    public static func charbonnier(_ prediction: Tensor, _ target: Tensor, epsilon: Double = 1e-3) -> Tensor {
        precondition(prediction.shape == target.shape, "Charbonnier loss: shapes \(prediction.shape) and \(target.shape) differ")
        return ((prediction - target).squared() + epsilon * epsilon).sqrt().mean()
    }
}
