// Uformer's LeFF middle (`model.py`, `LeFF.dwconv`: a depthwise 3×3 convolution with bias, then
// GELU) fused for inference. Unfused, the convolution's output — the LeFF's 4× hidden channels at
// the level's full resolution, the largest activation of a LeWin block — is written, read back by
// the GELU and written again, in two parallel regions. Fused, each plane gets GELU in place right
// after its convolution, while it is in cache, in the convolution's region.

extension Tensor {
    /// `conv2d(input, weight, bias, padding: 1, groups: C).gelu()` for an NCHW `input` with C
    /// channels, `weight` [C, 1, 3, 3] and an optional `bias` [C]: LeFF's depthwise convolution and
    /// GELU in one pass when no graph is recorded, with the same result bit for bit. When gradients
    /// are recorded, or for other element types, it runs the two ops.
    public static func depthwiseConv3x3GELU(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let channels = input.rank == 4 ? input.shape[1] : 0
        precondition(channels > 0 && weight.shape == [channels, 1, 3, 3] && (bias.map { $0.shape == [channels] } ?? true),
                     "depthwiseConv3x3GELU needs N×C×H×W input, [C, 1, 3, 3] weight and [C] bias; got \(input.shape), \(weight.shape), \(bias?.shape ?? [])")
        guard let (x, k, b) = fusedDepthwise3x3Operands(input, weight: weight, bias: bias) else {
            return conv2d(input, weight: weight, bias: bias, padding: 1, groups: channels).gelu()
        }
        // The copies may be the only owners of their buffers: keep them alive while read.
        return withExtendedLifetime((x, k, b)) {
            fusedDepthwiseGELU(x, k, b, batch: x.shape[0], channels: channels, height: x.shape[2], width: x.shape[3])
        }
    }

    private static func fusedDepthwiseGELU(_ x: Tensor, _ k: Tensor, _ b: Tensor?, batch n: Int, channels: Int,
                                           height h: Int, width w: Int) -> Tensor {
        let hw = h * w
        let px = UncheckedSendable(UnsafePointer(x.basePointer(Float.self)))
        let pk = UncheckedSendable(UnsafePointer(k.basePointer(Float.self)))
        let pb = b.map { UncheckedSendable(UnsafePointer($0.basePointer(Float.self))) }
        return Tensor.make([n, channels, h, w], Float.self) { out in
            let py = UncheckedSendable(out.baseAddress!)
            // Planes split as conv2d's depthwise kernel splits them.
            Parallel.forChunks(n * channels) { planes in
                TensorMemoryCache.withScratch(Float.self, count: w) { zero in
                    zero.initialize(repeating: 0, count: w)
                    for p in planes {
                        let c = p % channels, y = py.value + p * hw
                        ConvKernels.depthwise3x3Plane(px.value + p * hw, pk.value + c * 9, pb?.value[c] ?? 0, y,
                                                      height: h, width: w, zero: zero)
                        GELUFunction.apply(UnsafePointer(y), to: y, count: hw)
                    }
                }
            }
        }
    }
}
