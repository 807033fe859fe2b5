// The middle of DRSformer's MSFN (`FeedForward` in DRSformer_arch.py) fused for inference. Unfused,
// its three concatenations copy 6·hid planes per image — at the first level, 48 MB per block
// for 5.6 M output values, a third of the block's time — and hold two copies of each. Fused, each
// convolution writes its planes straight to their place in the concatenation that reads them:
//
//   s3 = relu(dw3(y)), s5 = relu(dw5(y))   → one buffer [s3[:hid], s5[:hid], s3[hid:], s5[hid:]]
//   x1 = relu(g3(first half)), x2 = relu(g5(second half))   → one buffer [x1, x2]
//
// Every plane is computed by the same direct kernel, with the same terms in the same order, as
// the unfused `conv2dReLU`, so the result is the same bit for bit.

extension Tensor {
    /// DRSformer's mixed-scale crossing: with `s3 = relu(depthwise3x3(y))` and
    /// `s5 = relu(depthwise5x5(y))` split into halves of `hid` channels,
    /// `cat[relu(grouped3x3(cat[s3ₐ, s5ₐ])), relu(grouped5x5(cat[s3ᵦ, s5ᵦ]))]`.
    ///
    /// `y` is N×2hid×H×W (the MSFN's `project_in` output); the layers are the MSFN's `dwconv3x3`,
    /// `dwconv5x5` (2hid → 2hid, 2hid groups) and `dwconv3x3_1`, `dwconv5x5_1` (2hid → hid,
    /// hid groups), each with "same" padding. The result is N×2hid×H×W, `project_out`'s input.
    /// Without a graph it runs as one pass per convolution with no concatenation copies; with a
    /// graph, or for layers configured otherwise, it runs the unfused ops. Both give the same bits.
    public static func mixedScaleCrossing(_ y: Tensor, depthwise3x3: Conv2d, depthwise5x5: Conv2d,
                                          grouped3x3: Conv2d, grouped5x5: Conv2d) -> Tensor {
        precondition(y.rank == 4 && y.shape[1] % 2 == 0, "mixedScaleCrossing needs N×2hid×H×W input, got \(y.shape)")
        let layers = [depthwise3x3, depthwise5x5, grouped3x3, grouped5x5]
        let hid = y.shape[1] / 2
        let recording = GradMode.isEnabled && (y.requiresGrad || layers.contains { $0.weight.requiresGrad || ($0.bias?.requiresGrad ?? false) })
        guard !recording, y.dtype.isFloatingPoint, layers.allSatisfy({ $0.weight.dtype == y.dtype && ($0.bias?.dtype ?? y.dtype) == y.dtype }),
              // One hidden channel makes the grouped convolutions dense, which conv2d runs as a GEMM.
              hid >= 2, y.shape[2] >= 2, y.shape[3] >= 2,
              isSameDepthwise(depthwise3x3, kernel: 3, channels: 2 * hid), isSameDepthwise(depthwise5x5, kernel: 5, channels: 2 * hid),
              isSamePairwise(grouped3x3, kernel: 3, outputs: hid), isSamePairwise(grouped5x5, kernel: 5, outputs: hid)
        else { return unfusedMixedScaleCrossing(y, depthwise3x3, depthwise5x5, grouped3x3, grouped5x5, hid: hid) }
        let x = y.contiguous()
        let weights = layers.map { $0.weight.contiguous() }, biases = layers.map { $0.bias?.contiguous() }
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        for (layer, weight) in Swift.zip(layers, weights) { MACCounter.record(.conv, weight: layer.weight, n * weight.count * h * w) }
        return withExtendedLifetime((x, weights, biases)) {
            x.dtype.withFloatType { fusedMixedScaleCrossing(x, weights, biases, hid: hid, $0) }
        }
    }

    /// A depthwise `kernel`×`kernel` "same" convolution of `channels` channels.
    private static func isSameDepthwise(_ layer: Conv2d, kernel: Int, channels: Int) -> Bool {
        layer.weight.shape == [channels, 1, kernel, kernel] && layer.groups == channels && isSame(layer, kernel: kernel)
    }

    /// A `kernel`×`kernel` "same" convolution to `outputs` channels, each from its own two inputs.
    private static func isSamePairwise(_ layer: Conv2d, kernel: Int, outputs: Int) -> Bool {
        layer.weight.shape == [outputs, 2, kernel, kernel] && layer.groups == outputs && isSame(layer, kernel: kernel)
    }

    private static func isSame(_ layer: Conv2d, kernel: Int) -> Bool {
        layer.stride == 1 && layer.dilation == 1 && layer.padding == kernel / 2
            && (layer.bias.map { $0.shape == [layer.weight.shape[0]] } ?? true)
    }

    private static func unfusedMixedScaleCrossing(_ y: Tensor, _ d3: Conv2d, _ d5: Conv2d, _ g3: Conv2d, _ g5: Conv2d,
                                                  hid: Int) -> Tensor {
        let s3 = d3.withReLU(y), s5 = d5.withReLU(y)
        let first = concatenated([s3.narrowed(axis: 1, start: 0, length: hid), s5.narrowed(axis: 1, start: 0, length: hid)], axis: 1)
        let second = concatenated([s3.narrowed(axis: 1, start: hid, length: hid), s5.narrowed(axis: 1, start: hid, length: hid)], axis: 1)
        return concatenated([g3.withReLU(first), g5.withReLU(second)], axis: 1)
    }

    /// The four convolutions on contiguous operands, each writing into its place.
    private static func fusedMixedScaleCrossing<T: TensorScalar>(_ x: Tensor, _ weights: [Tensor], _ biases: [Tensor?], hid: Int,
                                                                 _: T.Type) -> Tensor {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3]), hw = h * w
        // The geometries conv2d builds for these layers (the guard above checked their settings).
        func geometry(inputs: Int, outputs: Int, kernel: Int) -> Conv2dGeometry {
            Conv2dGeometry(input: [n, inputs, h, w], weight: [outputs, inputs / outputs, kernel, kernel], stride: (1, 1),
                           padding: (kernel / 2, kernel / 2), dilation: (1, 1), groups: outputs)
        }
        let px = UnsafePointer(x.basePointer(T.self))
        let pk = weights.map { UnsafePointer($0.basePointer(T.self)) }
        let pb = biases.map { $0.map { UnsafePointer($0.basePointer(T.self)) } }
        // [s3ₐ, s5ₐ, s3ᵦ, s5ᵦ] per image: each depthwise output is two blocks of hid planes, 2hid apart.
        let crossed = Tensor.make([n, 4 * hid, h, w], T.self) { out in
            let halves = ConvPlaneLayout(imageStride: 4 * hid, blockChannels: hid, blockStride: 2 * hid)
            for (layer, kernel, offset) in [(0, 3, 0), (1, 5, hid)] {
                ConvKernels.directForward(px, pk[layer], pb[layer], out.baseAddress! + offset * hw,
                                          geometry(inputs: 2 * hid, outputs: 2 * hid, kernel: kernel), relu: true,
                                          outputLayout: halves)
            }
        }
        let pc = UnsafePointer(crossed.basePointer(T.self))
        return withExtendedLifetime(crossed) {
            Tensor.make([n, 2 * hid, h, w], T.self) { out in
                // Each grouped convolution reads one half of `crossed` and writes one half of the result.
                let source = ConvPlaneLayout(imageStride: 4 * hid, blockChannels: 2 * hid, blockStride: 2 * hid)
                let target = ConvPlaneLayout(imageStride: 2 * hid, blockChannels: hid, blockStride: hid)
                for (layer, kernel, half) in [(2, 3, 0), (3, 5, 1)] {
                    ConvKernels.directForward(pc + half * 2 * hid * hw, pk[layer], pb[layer], out.baseAddress! + half * hid * hw,
                                              geometry(inputs: 2 * hid, outputs: hid, kernel: kernel), relu: true,
                                              inputLayout: source, outputLayout: target)
                }
            }
        }
    }
}
