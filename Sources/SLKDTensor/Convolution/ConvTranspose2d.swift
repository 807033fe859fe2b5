// Transposed 2-D convolution (PyTorch `F.conv_transpose2d`): the adjoint of conv2d with respect to
// its input. It runs on conv2d's kernels with the roles swapped — its forward is conv2d's input
// gradient, its input gradient is conv2d's forward, its weight gradient is conv2d's weight
// gradient with input and output exchanged.

extension Tensor {
    /// Transposed convolution of an NCHW `input` with `weight` [Cin, Cout/groups, kH, kW] and an
    /// optional `bias` [Cout], as `F.conv_transpose2d`. Output size per axis:
    /// (in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
    ///
    /// ```swift
    /// let up = Tensor.convTranspose2d(x, weight: w, bias: b, stride: 2)   // Uformer's 2×2 upsampling
    /// ```
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                                       padding: Int = 0, outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1) -> Tensor {
        convTranspose2d(input, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
                        outputPadding: (outputPadding, outputPadding), dilation: (dilation, dilation), groups: groups)
    }

    /// Transposed convolution with separate vertical and horizontal parameters.
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int),
                                       padding: (Int, Int), outputPadding: (Int, Int) = (0, 0),
                                       dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        _ = visionFloatType("convTranspose2d", input, weight, bias)
        precondition(input.rank == 4 && weight.rank == 4, "convTranspose2d needs NCHW input and 4-D weight, got \(input.shape) and \(weight.shape)")
        precondition(groups >= 1 && input.shape[1] == weight.shape[0] && input.shape[1] % groups == 0,
                     "convTranspose2d: weight \(weight.shape) does not fit \(input.shape[1]) input channels in \(groups) groups")
        precondition(outputPadding.0 >= 0 && outputPadding.1 >= 0
                     && (outputPadding.0 < stride.0 || outputPadding.0 < dilation.0)
                     && (outputPadding.1 < stride.1 || outputPadding.1 < dilation.1),
                     "convTranspose2d: output padding must be smaller than stride or dilation")
        let outChannels = weight.shape[1] * groups
        precondition(bias == nil || bias!.shape == [outChannels], "convTranspose2d: bias must have shape [\(outChannels)]")
        let hin = input.shape[2], win = input.shape[3], kh = weight.shape[2], kw = weight.shape[3]
        let h = (hin - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
        let w = (win - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
        precondition(h > 0 && w > 0, "convTranspose2d: empty output for input \(input.shape)")
        // The conv2d whose input gradient this is: input [N, Cout, h, w] → output [N, Cin, hin, win].
        let geometry = Conv2dGeometry(batch: input.shape[0], inChannels: outChannels, height: h, width: w,
                                      outChannels: input.shape[1], kernelH: kh, kernelW: kw,
                                      strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1,
                                      dilationH: dilation.0, dilationW: dilation.1, groups: groups,
                                      outHeight: hin, outWidth: win)
        MACCounter.record(.conv, weight: weight, geometry.batch * weight.count * hin * win)
        let x = input.contiguous(), k = weight.contiguous(), b = bias?.contiguous()
        let y = ConvKernels.inputGradient(x, k, geometry)
        if let b {
            func addBias<T: TensorScalar>(_: T.Type) {
                ConvKernels.addBias(y.basePointer(T.self), UnsafePointer(b.basePointer(T.self)), geometry.batch, outChannels, h * w)
            }
            y.dtype.withFloatType { addBias($0) }
        }
        var inputs = [x, k]
        if let b { inputs.append(b) }
        let (sx, sk) = (x.detached(), k.detached())
        let needX = x.requiresGrad, needK = k.requiresGrad, needB = b?.requiresGrad ?? false
        return Autograd.record(y, inputs: inputs) { g0 in
            let g = g0.contiguous()
            var grads: [Tensor?] = [needX ? ConvKernels.forward(g, sk, nil, geometry) : nil,
                                    needK ? ConvKernels.weightGradient(g, sx, geometry) : nil]
            if b != nil { grads.append(needB ? ConvKernels.biasGradient(g) : nil) }
            return grads
        }
    }
}
