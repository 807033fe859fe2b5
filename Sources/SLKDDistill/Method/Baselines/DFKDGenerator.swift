import SLKDModels

/// DFKD's generator (Docs/Method.md#dfkd): a latent vector to a C×P×P image in [0, 1] through a
/// linear layer to 128 × (P/4)², instance normalisation, two nearest ×2 upsamplings each followed
/// by a 3×3 convolution, instance normalisation (ε 0.8, as in the released code) and
/// LeakyReLU(0.2), and a last 3×3 convolution and tanh mapped to [0, 1]. Weights are
/// Kaiming-normal, biases PyTorch's default uniform, normalisation scales 1.
public final class DFKDGenerator: Module {
    public let latentSize: Int
    public let imageSize: Int
    public let width: Int
    let fc: Linear
    let norm0: InstanceNorm2d
    let conv1: Conv2d
    let norm1: InstanceNorm2d
    let conv2: Conv2d
    let norm2: InstanceNorm2d
    let conv3: Conv2d

    /// - Parameters:
    ///   - latentSize: the length of z (256 in the released code).
    ///   - imageSize: P, the side of the square images (a multiple of 4).
    ///   - width: the channels after the linear layer (128 in the released code; half of it after
    ///     the second convolution).
    ///   - channels: the image channels.
    ///   - dtype: the parameters' element type.
    ///   - g: `using:`, initialises the parameters.
    public init(latentSize: Int = 256, imageSize: Int = 128, width: Int = 128, channels: Int = 3, dtype: DType = .float32,
                using g: inout RandomGenerator) {
        precondition(latentSize > 0 && width >= 2 && channels > 0, "DFKD generator: sizes must be positive")
        precondition(imageSize >= 4 && imageSize % 4 == 0, "DFKD generator: the image side must be a multiple of 4, got \(imageSize)")
        self.latentSize = latentSize
        self.imageSize = imageSize
        self.width = width
        let start = imageSize / 4
        func bias(_ n: Int, fanIn: Int) -> Tensor {
            let bound = 1 / Double(fanIn).squareRoot()
            return Tensor.uniform([n], low: -bound, high: bound, dtype: dtype, using: &g)
        }
        func conv(_ i: Int, _ o: Int) -> Conv2d {
            let w = Tensor.kaimingNormal([o, i, 3, 3], dtype: dtype, using: &g)
            return Conv2d(weight: w, bias: bias(o, fanIn: 9 * i), padding: 1)
        }
        fc = Linear(weight: Tensor.kaimingNormal([width * start * start, latentSize], dtype: dtype, using: &g),
                    bias: bias(width * start * start, fanIn: latentSize))
        norm0 = InstanceNorm2d(width, dtype: dtype)
        conv1 = conv(width, width)
        norm1 = InstanceNorm2d(width, eps: 0.8, dtype: dtype)
        conv2 = conv(width, width / 2)
        norm2 = InstanceNorm2d(width / 2, eps: 0.8, dtype: dtype)
        conv3 = conv(width / 2, channels)
        super.init()
    }

    /// Images B×C×P×P in [0, 1] for latent vectors B×latentSize.
    public func callAsFunction(_ z: Tensor) -> Tensor {
        let b = z.shape[0], start = imageSize / 4
        var x = norm0(fc(z).reshaped([b, width, start, start]))
        x = norm1(conv1(x.nearestResized(to: (2 * start, 2 * start)))).leakyReLU(slope: 0.2)
        x = norm2(conv2(x.nearestResized(to: (imageSize, imageSize)))).leakyReLU(slope: 0.2)
        return (conv3(x).tanh() + 1) * 0.5
    }
}
