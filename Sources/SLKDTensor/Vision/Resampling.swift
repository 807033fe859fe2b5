// Changing the spatial layout of NCHW tensors: pixel (un)shuffle, average pooling, and bilinear /
// nearest interpolation (PyTorch `F.interpolate` conventions).

extension Tensor {
    /// `nn.PixelShuffle(r)`: [N, C·r², H, W] → [N, C, H·r, W·r] with
    /// out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w].
    public func pixelShuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && r >= 1 && shape[1] % (r * r) == 0, "pixelShuffle(\(r)) needs NCHW with C divisible by \(r * r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1] / (r * r), shape[2], shape[3])
        return reshaped([n, c, r, r, h, w]).permuted([0, 1, 4, 2, 5, 3]).reshaped([n, c, h * r, w * r])
    }

    /// `nn.PixelUnshuffle(r)`, the inverse of ``pixelShuffle(_:)``: [N, C, H·r, W·r] → [N, C·r², H, W].
    public func pixelUnshuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && r >= 1 && shape[2] % r == 0 && shape[3] % r == 0,
                     "pixelUnshuffle(\(r)) needs NCHW with H and W divisible by \(r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2] / r, shape[3] / r)
        return reshaped([n, c, h, r, w, r]).permuted([0, 1, 3, 5, 2, 4]).reshaped([n, c * r * r, h, w])
    }

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

    /// Bilinear resize of an NCHW tensor to `size` (H, W), as
    /// `F.interpolate(mode: "bilinear", align_corners:)`.
    public func bilinearResized(to size: (Int, Int), alignCorners: Bool) -> Tensor {
        resized(to: size, linear: true, alignCorners: alignCorners)
    }

    /// Nearest-neighbour resize of an NCHW tensor to `size`, as `F.interpolate(mode: "nearest")`
    /// (source index ⌊dst · in/out⌋).
    public func nearestResized(to size: (Int, Int)) -> Tensor {
        resized(to: size, linear: false, alignCorners: false)
    }

    func resized(to size: (Int, Int), linear: Bool, alignCorners: Bool) -> Tensor {
        _ = Tensor.visionFloatType("interpolate", self)
        precondition(rank == 4 && size.0 > 0 && size.1 > 0, "interpolate needs NCHW input and a positive size, got \(shape) → \(size)")
        let rows = ResampleAxis(input: shape[2], output: size.0, linear: linear, alignCorners: alignCorners)
        let cols = ResampleAxis(input: shape[3], output: size.1, linear: linear, alignCorners: alignCorners)
        let x = contiguous()
        let planes = shape[0] * shape[1]
        MACCounter.record(linear ? .upsampleBilinear2d : .upsampleNearest2d, (linear ? 4 : 1) * planes * size.0 * size.1)
        let y = Resample.forward(x, rows, cols, planes)
        let inShape = shape
        return Autograd.record(y, inputs: [x]) { g in [Resample.backward(g.contiguous(), rows, cols, planes, inShape)] }
    }
}

/// Average pooling geometry and kernels (one thread per plane).
struct Pool2d {
    let height: Int, width: Int, kernel: Int, stride: Int, padding: Int, countIncludePad: Bool
    var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }

    /// The clipped window of output (oh, ow) and its divisor.
    func window(_ oh: Int, _ ow: Int) -> (Range<Int>, Range<Int>, Int) {
        let h0 = oh * stride - padding, w0 = ow * stride - padding
        let h1 = Swift.min(h0 + kernel, height + padding), w1 = Swift.min(w0 + kernel, width + padding)
        let padded = (h1 - h0) * (w1 - w0)
        let hs = Swift.max(h0, 0)..<Swift.min(h1, height), ws = Swift.max(w0, 0)..<Swift.min(w1, width)
        return (hs, ws, countIncludePad ? padded : hs.count * ws.count)
    }

    func forward(_ x: Tensor, _ planes: Int) -> Tensor {
        switch x.dtype {
        case .float32: forward(x, planes, Float.self)
        case .float64: forward(x, planes, Double.self)
        case .int64: preconditionFailure()
        }
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
        switch g.dtype {
        case .float32: backward(g, planes, shape, Float.self)
        case .float64: backward(g, planes, shape, Double.self)
        case .int64: preconditionFailure()
        }
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

/// For each output index along one axis: the two source indices and the weight of the second
/// (nearest: one source, weight 0). PyTorch's `area_pixel_compute_source_index`.
struct ResampleAxis {
    let input: Int, output: Int
    var first: [Int] = [], second: [Int] = [], lambda: [Double] = []

    init(input: Int, output: Int, linear: Bool, alignCorners: Bool) {
        self.input = input
        self.output = output
        for o in 0..<output {
            if linear {
                let src: Double
                if alignCorners {
                    src = output > 1 ? Double(o) * Double(input - 1) / Double(output - 1) : 0
                } else {
                    src = Swift.max((Double(o) + 0.5) * Double(input) / Double(output) - 0.5, 0)
                }
                let i0 = Swift.min(Int(src), input - 1)
                first.append(i0)
                second.append(Swift.min(i0 + 1, input - 1))
                lambda.append(src - Double(i0))
            } else {
                let i0 = Swift.min(Int((Double(o) * Double(input) / Double(output)).rounded(.down)), input - 1)
                first.append(i0)
                second.append(i0)
                lambda.append(0)
            }
        }
    }
}

enum Resample {
    static func forward(_ x: Tensor, _ rows: ResampleAxis, _ cols: ResampleAxis, _ planes: Int) -> Tensor {
        switch x.dtype {
        case .float32: forward(x, rows, cols, planes, Float.self)
        case .float64: forward(x, rows, cols, planes, Double.self)
        case .int64: preconditionFailure()
        }
    }

    static func forward<T: TensorScalar>(_ x: Tensor, _ rows: ResampleAxis, _ cols: ResampleAxis, _ planes: Int, _: T.Type) -> Tensor {
        let px = UnsafePointer(x.basePointer(T.self))
        let (h, w, oh, ow) = (rows.input, cols.input, rows.output, cols.output)
        let lr = rows.lambda.map { T($0) }, lc = cols.lambda.map { T($0) }
        return Tensor.make([x.shape[0], x.shape[1], oh, ow], T.self) { out in
            let py = out.baseAddress!
            Parallel.forChunks(planes) { range in
                for p in range {
                    let src = px + p * h * w, dst = py + p * oh * ow
                    for i in 0..<oh {
                        let r0 = src + rows.first[i] * w, r1 = src + rows.second[i] * w, a = lr[i]
                        for j in 0..<ow {
                            let c0 = cols.first[j], c1 = cols.second[j], b = lc[j]
                            let top = (1 - b) * r0[c0] + b * r0[c1], bottom = (1 - b) * r1[c0] + b * r1[c1]
                            dst[i * ow + j] = (1 - a) * top + a * bottom
                        }
                    }
                }
            }
        }
    }

    static func backward(_ g: Tensor, _ rows: ResampleAxis, _ cols: ResampleAxis, _ planes: Int, _ shape: [Int]) -> Tensor {
        switch g.dtype {
        case .float32: backward(g, rows, cols, planes, shape, Float.self)
        case .float64: backward(g, rows, cols, planes, shape, Double.self)
        case .int64: preconditionFailure()
        }
    }

    /// The adjoint: every output's gradient is split over its four sources (one plane per thread).
    static func backward<T: TensorScalar>(_ g: Tensor, _ rows: ResampleAxis, _ cols: ResampleAxis, _ planes: Int,
                                          _ shape: [Int], _: T.Type) -> Tensor {
        let pg = UnsafePointer(g.basePointer(T.self))
        let (h, w, oh, ow) = (rows.input, cols.input, rows.output, cols.output)
        let lr = rows.lambda.map { T($0) }, lc = cols.lambda.map { T($0) }
        return Tensor.make(shape, T.self) { out in
            let pgx = out.baseAddress!
            Parallel.forChunks(planes) { range in
                for p in range {
                    let src = pg + p * oh * ow, dst = pgx + p * h * w
                    dst.update(repeating: 0, count: h * w)
                    for i in 0..<oh {
                        let r0 = dst + rows.first[i] * w, r1 = dst + rows.second[i] * w, a = lr[i]
                        for j in 0..<ow {
                            let c0 = cols.first[j], c1 = cols.second[j], b = lc[j], v = src[i * ow + j]
                            r0[c0] += (1 - a) * (1 - b) * v
                            r0[c1] += (1 - a) * b * v
                            r1[c0] += a * (1 - b) * v
                            r1[c1] += a * b * v
                        }
                    }
                }
            }
        }
    }
}
