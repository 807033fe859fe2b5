// Bilinear and nearest interpolation of NCHW tensors (PyTorch `F.interpolate` conventions).

extension Tensor {
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
        x.dtype.withFloatType { forward(x, rows, cols, planes, $0) }
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
        g.dtype.withFloatType { backward(g, rows, cols, planes, shape, $0) }
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
