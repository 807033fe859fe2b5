// Average pooling of NCHW tensors (PyTorch `F.avg_pool2d` and `nn.AdaptiveAvgPool2d(1)` conventions).

extension Tensor {
    /// `nn.AdaptiveAvgPool2d(1)`: the mean of every channel plane, [N, C, H, W] → [N, C, 1, 1].
    public func adaptiveAvgPool2dToOne() -> Tensor {
        precondition(rank == 4, "adaptiveAvgPool2dToOne needs NCHW, got \(shape)")
        MACCounter.record(.adaptiveAvgPool2d, count)
        return mean(axes: [2, 3], keepDims: true)
    }

    /// `F.avg_pool2d(x, kernel, stride, padding, count_include_pad:)` (floor mode). DRSformer
    /// uses 3×3, stride 1, padding 1, `count_include_pad = false`.
    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) -> Tensor {
        _ = Tensor.visionFloatType("avgPool2d", self)
        let s = stride ?? kernel
        precondition(rank == 4 && kernel >= 1 && s >= 1 && padding >= 0 && padding <= kernel / 2,
                     "avgPool2d: bad arguments for input \(shape) (kernel \(kernel), stride \(s), padding \(padding))")
        let pool = Pool2d(height: shape[2], width: shape[3], kernel: kernel, stride: s, padding: padding,
                          countIncludePad: countIncludePad)
        precondition(pool.outHeight > 0 && pool.outWidth > 0, "avgPool2d: empty output for input \(shape)")
        let x = contiguous()
        let planes = shape[0] * shape[1]
        let y = pool.forward(x, planes)
        return Autograd.record(y, inputs: [x]) { g in [pool.backward(g.contiguous(), planes, x.shape)] }
    }
}

/// Average pooling geometry and kernels (one thread per plane).
struct Pool2d {
    let height: Int, width: Int, kernel: Int, stride: Int, padding: Int, countIncludePad: Bool
    // Through the convolution's rule: a kernel larger than the padded input gives no output (the
    // truncating division would give one, averaging a clipped window where PyTorch refuses).
    var outHeight: Int { convolutionOutputSize(height, kernel, stride, padding, 1) }
    var outWidth: Int { convolutionOutputSize(width, kernel, stride, padding, 1) }

    /// The clipped window of output (oh, ow) and its divisor.
    func window(_ oh: Int, _ ow: Int) -> (Range<Int>, Range<Int>, Int) {
        let h0 = oh * stride - padding, w0 = ow * stride - padding
        let h1 = Swift.min(h0 + kernel, height + padding), w1 = Swift.min(w0 + kernel, width + padding)
        let padded = (h1 - h0) * (w1 - w0)
        let hs = Swift.max(h0, 0)..<Swift.min(h1, height), ws = Swift.max(w0, 0)..<Swift.min(w1, width)
        return (hs, ws, countIncludePad ? padded : hs.count * ws.count)
    }

    func forward(_ x: Tensor, _ planes: Int) -> Tensor {
        x.dtype.withFloatType { forward(x, planes, $0) }
    }

    func forward<T: TensorScalar>(_ x: Tensor, _ planes: Int, _: T.Type) -> Tensor {
        let px = UnsafePointer(x.basePointer(T.self))
        let (oh, ow) = (outHeight, outWidth)
        return Tensor.make([x.shape[0], x.shape[1], oh, ow], T.self) { out in
            let py = out.baseAddress!
            Parallel.forChunks(planes) { range in
                for p in range {
                    let src = px + p * height * width, dst = py + p * oh * ow
                    for i in 0..<oh {
                        for j in 0..<ow {
                            let (hs, ws, divisor) = window(i, j)
                            var s: T = 0
                            for h in hs { for w in ws { s += src[h * width + w] } }
                            dst[i * ow + j] = s / T(divisor)
                        }
                    }
                }
            }
        }
    }

    func backward(_ g: Tensor, _ planes: Int, _ shape: [Int]) -> Tensor {
        g.dtype.withFloatType { backward(g, planes, shape, $0) }
    }

    func backward<T: TensorScalar>(_ g: Tensor, _ planes: Int, _ shape: [Int], _: T.Type) -> Tensor {
        let pg = UnsafePointer(g.basePointer(T.self))
        let (oh, ow) = (outHeight, outWidth)
        return Tensor.make(shape, T.self) { out in
            let pgx = out.baseAddress!
            Parallel.forChunks(planes) { range in
                for p in range {
                    let src = pg + p * oh * ow, dst = pgx + p * height * width
                    dst.update(repeating: 0, count: height * width)
                    for i in 0..<oh {
                        for j in 0..<ow {
                            let (hs, ws, divisor) = window(i, j)
                            let v = src[i * ow + j] / T(divisor)
                            for h in hs { for w in ws { dst[h * width + w] += v } }
                        }
                    }
                }
            }
        }
    }
}
