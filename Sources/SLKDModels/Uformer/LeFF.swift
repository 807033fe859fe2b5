import SLKDTensor

// Uformer's LeFF, the locally-enhanced feed-forward network (`model.py`: `LeFF`; Wang et al. 2022,
// §3.2), on the channel-major token map.

/// `LeFF`: Linear D→hid + GELU, 3×3 depthwise conv (with bias) + GELU on the token map, Linear hid→D.
public final class LeFF: Module {
    public let linear1: Sequential
    public let dwconv: Sequential
    public let linear2: Sequential

    init(dim: Int, hidden: Int, using generator: inout RandomGenerator) {
        linear1 = Sequential([uformerLinear(dim, hidden, bias: true, using: &generator), Lambda { $0.gelu() }])
        dwconv = Sequential([Conv2d(hidden, hidden, kernelSize: 3, padding: 1, groups: hidden, bias: true, using: &generator),
                             Lambda { $0.gelu() }])
        linear2 = Sequential([uformerLinear(hidden, dim, bias: true, using: &generator)])
        super.init()
    }

    /// `x` [B, D, H, W] (the official token tensor, channel-major) → [B, D, H, W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        forward(x, residual: nil)
    }

    /// `residual + self(x)`, the LeWin block's `x + mlp(norm2(x))`, with the sum folded into
    /// `linear2` (its product accumulates onto residual + bias). `residual` is [B, D, H, W].
    public func callAsFunction(_ x: Tensor, adding residual: Tensor) -> Tensor {
        forward(x, residual: residual)
    }

    private func forward(_ x: Tensor, residual: Tensor?) -> Tensor {
        let fc1 = linear1[0] as! Linear, conv = dwconv[0] as! Conv2d, fc2 = linear2[0] as! Linear
        let (b, dim, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let hidden = fc1.outFeatures
        // On channel-major tokens both Linears are W·X GEMMs (bias folded in, linear1's GELU fused
        // with it) and the official `rearrange`s to and from the depthwise conv's NCHW cost nothing;
        // without a graph the conv's GELU runs on each plane as it is computed.
        var t = Tensor.uformerChannelLinear(x.reshaped([b, dim, height * width]), weight: fc1.weight, bias: fc1.bias,
                                            gelu: true)
        t = Tensor.depthwiseConv3x3GELU(t.reshaped([b, hidden, height, width]), weight: conv.weight, bias: conv.bias)
        let y = Tensor.uformerChannelLinear(t.reshaped([b, hidden, height * width]), weight: fc2.weight, bias: fc2.bias,
                                            residual: residual?.reshaped([b, dim, height * width]))
        return y.reshaped([b, dim, height, width])
    }
}
