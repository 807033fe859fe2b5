// DRSformer's Mixture-of-Experts Feature Compensator (MEFC, `subnet` in DRSformer_arch.py): a
// DARTS-style cell whose eight candidate operations are mixed with weights predicted from the
// input by a small attention MLP (`OALayer`), applied after the patch embedding and as the
// refinement stage.

/// The MEFC's pieces under their official class names' roles (OALayer, GroupOLs, OperationLayer,
/// SepConv, DilConv, ReLUConv).
public enum MEFC {
    /// The eight candidate operations, in the official order (`Operations`).
    public enum Operation: Int, CaseIterable, Sendable {
        case separable1x1, separable3x3, separable5x5, separable7x7
        case dilated3x3, dilated5x5, dilated7x7
        case averagePool3x3
    }

    /// `OALayer(channel, k=steps, num_ops=8)`: global average pool → Linear(C, 16·steps) → ReLU →
    /// Linear(16·steps, 8·steps), viewed as [B, steps, 8] (key `ca_fc.{0,2}`). The caller softmaxes
    /// over the operations.
    public final class OperationAttention: Module {
        @Submodule(key: "ca_fc") public var fullyConnected: Sequential
        public let steps: Int

        public init(channels: Int, steps: Int, using generator: inout RandomGenerator) {
            self.steps = steps
            let ops = Operation.allCases.count
            let fc = Sequential(Linear(channels, 2 * steps * ops, using: &generator),
                                Lambda { $0.relu() },
                                Linear(2 * steps * ops, steps * ops, using: &generator))
            super.init()
            fullyConnected = fc
        }

        /// Operation logits [B, steps, 8].
        public func callAsFunction(_ x: Tensor) -> Tensor {
            let b = x.shape[0], c = x.shape[1]
            return fullyConnected(x.adaptiveAvgPool2dToOne().reshaped([b, c]))
                .reshaped([b, steps, Operation.allCases.count])
        }
    }

    /// `SepConv(C, C, k)`: depthwise k×k → 1×1 → ReLU → depthwise k×k → 1×1, bias-free
    /// (keys `op.{0,1,3,4}`).
    public final class SeparableConv: Module, UnaryLayer {
        public let op: Sequential

        public init(channels c: Int, kernel k: Int, using generator: inout RandomGenerator) {
            op = Sequential(Conv2d(c, c, kernelSize: k, padding: k / 2, groups: c, bias: false, using: &generator),
                            Conv2d(c, c, kernelSize: 1, bias: false, using: &generator),
                            Lambda { $0.relu() },
                            Conv2d(c, c, kernelSize: k, padding: k / 2, groups: c, bias: false, using: &generator),
                            Conv2d(c, c, kernelSize: 1, bias: false, using: &generator))
            super.init()
        }

        public func callAsFunction(_ x: Tensor) -> Tensor {
            guard let first = op[0] as? Conv2d, let third = op[3] as? Conv2d, first.kernelSize == 1 else { return op(x) }
            // sep_conv_1x1: its "depthwise 1×1" convs are per-channel scales; a broadcast multiply
            // is the same map with a far cheaper backward than grouped 1×1 GEMMs.
            let c = x.shape[1]
            // Counted as the official depthwise 1×1 convolutions: C MACs per pixel each.
            MACCounter.record(.conv, weight: first.weight, x.count)
            let y = op[2](op[1](x * first.weight.reshaped([1, c, 1, 1])))
            MACCounter.record(.conv, weight: third.weight, y.count)
            return op[4](y * third.weight.reshaped([1, c, 1, 1]))
        }
    }

    /// `DilConv(C, C, k, padding k−1, dilation 2)`: depthwise dilated k×k → 1×1, bias-free
    /// (keys `op.{0,1}`).
    public final class DilatedConv: Module, UnaryLayer {
        public let op: Sequential

        public init(channels c: Int, kernel k: Int, using generator: inout RandomGenerator) {
            op = Sequential(Conv2d(c, c, kernelSize: k, padding: k - 1, dilation: 2, groups: c, bias: false, using: &generator),
                            Conv2d(c, c, kernelSize: 1, bias: false, using: &generator))
            super.init()
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { op(x) }
    }

    /// `AvgPool2d(3, stride 1, padding 1, count_include_pad=False)`: no weights.
    ///
    /// Computed as a depthwise 3×3 convolution with a ones kernel (the conv's vectorised 3×3 path)
    /// times 1 / (number of in-image taps): the same values as `avgPool2d(kernel: 3, stride: 1,
    /// padding: 1, countIncludePad: false)`, several times faster than its per-pixel window loop.
    public final class AveragePool: Module, UnaryLayer {
        public func callAsFunction(_ x: Tensor) -> Tensor {
            precondition(x.rank == 4, "AveragePool needs NCHW, got \(x.shape)")
            let c = x.shape[1], h = x.shape[2], w = x.shape[3]
            // The official AvgPool2d, which fvcore does not count.
            let sums = MACCounter.uncounted {
                Tensor.conv2d(x, weight: .ones([c, 1, 3, 3], dtype: x.dtype), padding: 1, groups: c)
            }
            return sums * Self.inverseTapCounts(height: h, width: w, dtype: x.dtype)
        }

        /// [1, 1, H, W]: 1 / (rows in the image) · (columns in the image) of each 3×3 window.
        static func inverseTapCounts(height h: Int, width w: Int, dtype: DType) -> Tensor {
            func taps(_ i: Int, _ n: Int) -> Int { 1 + (i > 0 ? 1 : 0) + (i + 1 < n ? 1 : 0) }
            var values = [Double](repeating: 0, count: h * w)
            for i in 0..<h { for j in 0..<w { values[i * w + j] = 1 / Double(taps(i, h) * taps(j, w)) } }
            let t = Tensor(shape: [1, 1, h, w], scalars: values)
            return dtype == .float64 ? t : t.cast(to: dtype)
        }
    }

    /// `OperationLayer(C)`: the eight operations of the input, each scaled by its weight, concatenated
    /// and fused by `_out` = 1×1 conv 8C → C (bias-free) + ReLU.
    public final class OperationLayer: Module {
        /// The eight operations, keyed `_ops.0 … _ops.7` as the official ModuleList.
        @Submodule(key: "_ops") public var operations: Sequential
        @Submodule(key: "_out") public var fuse: Sequential

        public init(channels c: Int, using generator: inout RandomGenerator) {
            var ops: [any UnaryLayer] = []
            for operation in Operation.allCases {
                switch operation {
                case .separable1x1: ops.append(SeparableConv(channels: c, kernel: 1, using: &generator))
                case .separable3x3: ops.append(SeparableConv(channels: c, kernel: 3, using: &generator))
                case .separable5x5: ops.append(SeparableConv(channels: c, kernel: 5, using: &generator))
                case .separable7x7: ops.append(SeparableConv(channels: c, kernel: 7, using: &generator))
                case .dilated3x3: ops.append(DilatedConv(channels: c, kernel: 3, using: &generator))
                case .dilated5x5: ops.append(DilatedConv(channels: c, kernel: 5, using: &generator))
                case .dilated7x7: ops.append(DilatedConv(channels: c, kernel: 7, using: &generator))
                case .averagePool3x3: ops.append(AveragePool())
                }
            }
            let out = Sequential(Conv2d(c * ops.count, c, kernelSize: 1, bias: false, using: &generator),
                                 Lambda { $0.relu() })
            super.init()
            operations = Sequential(ops)
            fuse = out
        }

        /// `x` is [B, C, H, W]; `weights` is [B, 8] (this step's softmaxed operation weights).
        public func callAsFunction(_ x: Tensor, weights: Tensor) -> Tensor {
            // Scaling and concatenation as one op: without a graph each state is read once and
            // written once, straight into its place.
            fuse(Tensor.concatenatedChannels((0..<operations.count).map { operations[$0](x) }, weightedBy: weights))
        }
    }

    /// `GroupOLs(steps, C)`: `preprocess` (ReLUConv: 1×1 conv then ReLU, key `preprocess.op.0`),
    /// then `steps` operation layers, each with a residual and a ReLU: `s = relu(op_i(s, w_i) + s)`.
    public final class OperationLayerGroup: Module {
        public let preprocess: ReLUConv
        @Submodule(key: "_ops") public var layers: [OperationLayer]

        public init(channels c: Int, steps: Int, using generator: inout RandomGenerator) {
            preprocess = ReLUConv(channels: c, using: &generator)
            var list: [OperationLayer] = []
            for _ in 0..<steps { list.append(OperationLayer(channels: c, using: &generator)) }
            super.init()
            layers = list
        }

        /// `weights` is [B, steps, 8].
        public func callAsFunction(_ x: Tensor, weights: Tensor) -> Tensor {
            var s = preprocess(x)
            for (i, layer) in layers.enumerated() {
                let w = weights.narrowed(axis: 1, start: i, length: 1).squeezed(axis: 1)
                s = (layer(s, weights: w) + s).relu()
            }
            return s
        }
    }

    /// `ReLUConv(C, C, 1)`: despite the name, a 1×1 bias-free conv followed by ReLU (key `op.0`).
    public final class ReLUConv: Module, UnaryLayer {
        public let op: Sequential

        public init(channels c: Int, using generator: inout RandomGenerator) {
            op = Sequential(Conv2d(c, c, kernelSize: 1, bias: false, using: &generator), Lambda { $0.relu() })
            super.init()
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { op(x) }
    }
}

/// DRSformer's MEFC, the official `subnet(dim, layer_num=1, steps)`: operation weights
/// `softmax(OALayer(x))` over the eight operations, then the operation-layer group (keys
/// `layers.0` = OALayer, `layers.1` = GroupOLs).
public final class MixtureOfExpertsFeatureCompensator: Module, UnaryLayer {
    public let attention: MEFC.OperationAttention
    public let group: MEFC.OperationLayerGroup

    public init(dim: Int, steps: Int = 4, using generator: inout RandomGenerator) {
        precondition(steps >= 1, "MEFC needs at least one step")
        attention = MEFC.OperationAttention(channels: dim, steps: steps, using: &generator)
        group = MEFC.OperationLayerGroup(channels: dim, steps: steps, using: &generator)
        super.init()
    }

    public override var namedChildren: [(key: String, module: Module)] {
        [("layers.0", attention), ("layers.1", group)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        group(x, weights: attention(x).softmax(axis: -1))
    }
}
