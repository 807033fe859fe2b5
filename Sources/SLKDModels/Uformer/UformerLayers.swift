import SLKDTensor

// The two plain layers Uformer's blocks are built from, as its `model.py` creates them.

/// `nn.LayerNorm(dim)` (keys `weight`, `bias`, eps 1e-5) applied over the channels of a
/// channel-major token map [B, C, H, W].
public final class ChannelNorm: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor

    init(_ dim: Int) {
        weight = .ones([dim])
        bias = .zeros([dim])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // The official nn.LayerNorm, which fvcore counts as 5 MACs per element.
        MACCounter.record(.layerNorm, weight: weight, 5 * x.count)
        return x.channelLayerNorm(weight: weight, bias: bias, kind: .withBias)
    }
}

/// `nn.Linear` as Uformer's `_init_weights` leaves it: weight trunc_normal(std 0.02), bias 0.
func uformerLinear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool, using generator: inout RandomGenerator) -> Linear {
    Linear(weight: .truncatedNormal([outFeatures, inFeatures], std: 0.02, using: &generator),
           bias: bias ? .zeros([outFeatures]) : nil)
}
