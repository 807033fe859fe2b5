// Restormer's GDFN gate (`restormer_arch.py`, `FeedForward.forward`): gelu(first C channels)·(last C),
// and the GDFN middle — depthwise 3×3 over 2C channels, then that gate — fused for inference.
// Unfused, the depthwise output (2C channels, the largest activation of the network: 255 channels
// at full resolution in Restormer) is written once and read back once; fused, each pair of planes
// is computed into two L2-sized scratch planes and gated from there.

extension Tensor {
    /// The GDFN gate on the two channel halves of an NCHW tensor: gelu(x[:, :C/2])·x[:, C/2:]
    /// (`x1, x2 = x.chunk(2, dim=1)`).
    public func geluGateOverChannels() -> Tensor {
        precondition(rank == 4 && shape[1] % 2 == 0, "geluGateOverChannels needs NCHW with an even channel count, got \(shape)")
        let half = shape[1] / 2
        let x1 = narrowed(axis: 1, start: 0, length: half), x2 = narrowed(axis: 1, start: half, length: half)
        guard requiresGrad, dtype == .float32 else { return Tensor.geluGate(x1, x2) }
        // One node for the whole input, so that the backward writes both halves of one gradient
        // (the fused kernel when the layout allows, the two-step rule and a concatenation when not).
        let (a, b) = (x1.detached(), x2.detached())
        return Autograd.record(Tensor.zip(a, b, GELUGateFunction.self), inputs: [self]) { g in
            if let gx = Tensor.geluGateBackwardOverChannels(g, a, b) { return [gx] }
            let (ga, gb) = Tensor.geluGateGradientsTwoStep(g, a, b)
            return [Tensor.concatenated([ga!, gb!], axis: 1)]
        }
    }

    /// `conv2d(input, weight, bias, padding: 1, groups: 2C).geluGateOverChannels()` for an NCHW
    /// `input` with 2C channels, `weight` [2C, 1, 3, 3] and an optional `bias` [2C]: the GDFN's
    /// depthwise convolution and gate in one pass when no graph is recorded, with the same result
    /// bit for bit. When gradients are recorded, or for other element types, it runs the two ops.
    public static func depthwiseConv3x3GELUGate(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let channels = input.rank == 4 ? input.shape[1] : 0
        precondition(channels > 0 && channels % 2 == 0 && weight.shape == [channels, 1, 3, 3]
                     && (bias.map { $0.shape == [channels] } ?? true),
                     "depthwiseConv3x3GELUGate needs N×2C×H×W input, [2C, 1, 3, 3] weight and [2C] bias; got \(input.shape), \(weight.shape), \(bias?.shape ?? [])")
        guard let (x, k, b) = fusedDepthwise3x3Operands(input, weight: weight, bias: bias) else {
            return conv2d(input, weight: weight, bias: bias, padding: 1, groups: channels).geluGateOverChannels()
        }
        // The copies may be the only owners of their buffers: keep them alive while read.
        return withExtendedLifetime((x, k, b)) {
            fusedDepthwiseGELUGate(x, k, b, batch: x.shape[0], channels: channels, height: x.shape[2], width: x.shape[3])
        }
    }

    private static func fusedDepthwiseGELUGate(_ x: Tensor, _ k: Tensor, _ b: Tensor?, batch n: Int, channels: Int,
                                               height h: Int, width w: Int) -> Tensor {
        let half = channels / 2, hw = h * w
        let px = UnsafePointer(x.basePointer(Float.self)), pk = UnsafePointer(k.basePointer(Float.self))
        let pb = b.map { UnsafePointer($0.basePointer(Float.self)) }
        return Tensor.make([n, half, h, w], Float.self) { out in
            let py = out.baseAddress!
            Parallel.forChunks(n * half) { planes in
                TensorMemoryCache.withScratch(Float.self, count: 2 * hw + w) { scratch in
                    let first = scratch, second = scratch + hw, zero = scratch + 2 * hw
                    zero.initialize(repeating: 0, count: w)
                    for p in planes {
                        let image = p / half, c = p % half
                        let base = px + image * channels * hw
                        ConvKernels.depthwise3x3Plane(base + c * hw, pk + c * 9, pb?[c] ?? 0, first, height: h, width: w, zero: zero)
                        ConvKernels.depthwise3x3Plane(base + (c + half) * hw, pk + (c + half) * 9, pb?[c + half] ?? 0, second,
                                                      height: h, width: w, zero: zero)
                        let y = py + p * hw
                        GELUGateFunction.apply(first, second, to: y, count: hw)
                    }
                }
            }
        }
    }
}
