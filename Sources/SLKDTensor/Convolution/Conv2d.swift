import CSLKDKernels

// 2-D convolution on NCHW tensors (PyTorch `F.conv2d` semantics: cross-correlation, zero padding,
// weights [Cout, Cin/groups, kH, kW]), and its two gradients. Three kernels cover the shapes the
// restoration transformers use:
//  • pointwise (1×1, stride 1, no padding) — one GEMM [Cout,Cin]·[Cin,H·W] per image and group,
//    straight on the tensors' memory, no copy (on the AVX-512 path, with one group and ≤ 512
//    input channels, `ChannelMajorProduct`'s kernel, which adds the bias as it stores);
//  • direct — depthwise and few-channels-per-group convolutions (Restormer's 3×3 depthwise,
//    DRSformer's 2-channel groups): row-by-row multiply–adds, one thread per output plane;
//  • im2col + GEMM for everything else (dense k×k).
// The transposed convolution (ConvTranspose2d.swift) reuses the same three kernels.

/// The sizes of one convolution, in the orientation of the forward `conv2d`.
@usableFromInline
struct Conv2dGeometry {
    var batch: Int, inChannels: Int, height: Int, width: Int
    var outChannels: Int, kernelH: Int, kernelW: Int
    var strideH: Int, strideW: Int, padH: Int, padW: Int, dilationH: Int, dilationW: Int
    var groups: Int
    var outHeight: Int, outWidth: Int

    var inPerGroup: Int { inChannels / groups }
    var outPerGroup: Int { outChannels / groups }
    var taps: Int { kernelH * kernelW }
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }
    /// Direct kernels win when each output sees few input channels (no GEMM to amortise).
    var usesDirectKernel: Bool { !isPointwise && inPerGroup <= 8 && (groups > 1 || inPerGroup == 1) }
    /// A dense stride-1 convolution to at most four output planes from more than eight inputs
    /// (a restoration network's last layer): the forward runs on the direct row kernel, whose
    /// work per plane is the same however many planes there are, while a GEMM with four or
    /// fewer rows wastes most of each register tile. The backward stays on the GEMM paths. Each
    /// task of the direct kernel copies all input channels into padded rows, so larger maps (more
    /// than 8 MiB of Float rows, 96 channels at 128²) keep the banded GEMM and its bounded buffer.
    var fewOutputsOfManyInputs: Bool {
        guard !isPointwise && !usesDirectKernel && groups == 1 && outChannels <= 4 && strideH == 1 && strideW == 1 else {
            return false
        }
        let paddedRow = (outWidth + 7) / 8 * 8 + (kernelW - 1) * dilationW
        return inPerGroup * height * paddedRow <= (8 << 20) / MemoryLayout<Float>.size
    }
    /// Rows convolved by a 3-wide, stride-1, undilated kernel with one column of padding: the
    /// "same" case the direct kernels serve three taps per pass over each row pair.
    var rowsAreThreeWideSame: Bool { strideW == 1 && kernelW == 3 && dilationW == 1 && padW == 1 && width >= 2 }
    /// A 3×3 kernel at stride 1, dilation 1 and padding 1 on both axes: the output plane is the input's.
    var isThreeByThreeSame: Bool {
        rowsAreThreeWideSame && strideH == 1 && kernelH == 3 && dilationH == 1 && padH == 1
    }
    var inputShape: [Int] { [batch, inChannels, height, width] }
    var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    var weightShape: [Int] { [outChannels, inPerGroup, kernelH, kernelW] }
}

// In an extension, so that the memberwise initialiser stays.
extension Conv2dGeometry {
    /// The geometry of `conv2d` on an `input` [N, Cin, H, W] with a `weight` [Cout, Cin/groups, kH, kW],
    /// each output length from ``convolutionOutputSize(_:_:_:_:_:)``.
    init(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int) {
        self.init(batch: input[0], inChannels: input[1], height: input[2], width: input[3],
                  outChannels: weight[0], kernelH: weight[2], kernelW: weight[3],
                  strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1,
                  dilationH: dilation.0, dilationW: dilation.1, groups: groups,
                  outHeight: convolutionOutputSize(input[2], weight[2], stride.0, padding.0, dilation.0),
                  outWidth: convolutionOutputSize(input[3], weight[3], stride.1, padding.1, dilation.1))
    }
}

/// A convolution's output length along one axis, as PyTorch's: ⌊(size + 2·pad − dil·(k − 1) − 1) / stride⌋ + 1,
/// or 0 where the dilated kernel is larger than the padded input (where Swift's division, which
/// rounds toward zero, would give 1 for a deficit smaller than the stride).
package func convolutionOutputSize(_ size: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ dilation: Int) -> Int {
    let span = size + 2 * padding - dilation * (kernel - 1) - 1
    return span >= 0 ? span / stride + 1 : 0
}

extension Tensor {
    /// 2-D convolution of an NCHW `input` with `weight` [Cout, Cin/groups, kH, kW] and an
    /// optional `bias` [Cout], as PyTorch's `F.conv2d` (zero padding, cross-correlation).
    ///
    /// ```swift
    /// let y = Tensor.conv2d(x, weight: w, padding: 1, groups: channels)   // depthwise 3×3
    /// ```
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil,
                              stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) -> Tensor {
        conv2d(input, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
               dilation: (dilation, dilation), groups: groups)
    }

    /// 2-D convolution with separate vertical and horizontal stride, padding and dilation.
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int),
                              padding: (Int, Int), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        convolution(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups,
                    relu: false)
    }

    /// `conv2d(…).relu()` in one pass: the direct kernels apply the ReLU to each output plane while
    /// it is in cache, the GEMM paths in place on their own output, instead of a second tensor.
    /// The backward masks the gradient by the output's sign (y > 0 exactly where the convolution's
    /// value is), then runs the convolution's. The same values as the two calls.
    public static func conv2dReLU(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                                  dilation: Int = 1, groups: Int = 1) -> Tensor {
        convolution(input, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
                    dilation: (dilation, dilation), groups: groups, relu: true)
    }

    private static func convolution(_ input: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int),
                                    padding: (Int, Int), dilation: (Int, Int), groups: Int, relu: Bool) -> Tensor {
        _ = visionFloatType(relu ? "conv2dReLU" : "conv2d", input, weight, bias)
        precondition(input.rank == 4 && weight.rank == 4, "conv2d needs NCHW input and 4-D weight, got \(input.shape) and \(weight.shape)")
        precondition(groups >= 1 && input.shape[1] % groups == 0 && weight.shape[0] % groups == 0,
                     "conv2d: \(input.shape[1]) input and \(weight.shape[0]) output channels do not split into \(groups) groups")
        precondition(weight.shape[1] * groups == input.shape[1],
                     "conv2d: weight \(weight.shape) expects \(weight.shape[1] * groups) input channels, input has \(input.shape[1])")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "conv2d: bias must have shape [\(weight.shape[0])]")
        precondition(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                     "conv2d: stride and dilation must be ≥ 1, padding ≥ 0")
        let geometry = Conv2dGeometry(input: input.shape, weight: weight.shape, stride: stride, padding: padding,
                                      dilation: dilation, groups: groups)
        precondition(geometry.outHeight > 0 && geometry.outWidth > 0,
                     "conv2d: kernel \(weight.shape[2])×\(weight.shape[3]) (dilation \(dilation)) larger than input \(input.shape[2])×\(input.shape[3]) padded by \(padding)")
        MACCounter.record(.conv, weight: weight, geometry.batch * weight.count * geometry.outHeight * geometry.outWidth)
        let x = input.contiguous(), k = weight.contiguous(), b = bias?.contiguous()
        let y = ConvKernels.forward(x, k, b, geometry, relu: relu)
        var inputs = [x, k]
        if let b { inputs.append(b) }
        let (sx, sk) = (x.detached(), k.detached())
        let needX = x.requiresGrad, needK = k.requiresGrad, needB = b?.requiresGrad ?? false
        let output: Tensor? = relu ? y.detached() : nil
        return Autograd.record(y, inputs: inputs) { g0 in
            let g = output.map { Tensor.zip(g0, $0, ReLUBackwardFunction.self) } ?? g0.contiguous()
            var grads: [Tensor?] = [needX ? ConvKernels.inputGradient(g, sk, geometry) : nil,
                                    needK ? ConvKernels.weightGradient(sx, g, geometry) : nil]
            if b != nil { grads.append(needB ? ConvKernels.biasGradient(g) : nil) }
            return grads
        }
    }
}

/// The convolution kernels, outside autograd; tensors are contiguous.
enum ConvKernels {
    // MARK: Forward

    static func forward(_ x: Tensor, _ k: Tensor, _ b: Tensor?, _ geo: Conv2dGeometry, relu: Bool = false) -> Tensor {
        x.dtype.withFloatType { forward(x, k, b, geo, relu: relu, $0) }
    }

    static func forward<T: TensorScalar>(_ x: Tensor, _ k: Tensor, _ b: Tensor?, _ geo: Conv2dGeometry, relu: Bool,
                                         _: T.Type) -> Tensor {
        let px = UnsafePointer(x.basePointer(T.self)), pk = UnsafePointer(k.basePointer(T.self))
        let pb = b.map { UnsafePointer($0.basePointer(T.self)) }
        let hw = geo.height * geo.width, ohw = geo.outHeight * geo.outWidth
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, rows = cinG * geo.taps
        if T.self == Float.self && geo.fewOutputsOfManyInputs {
            // An image's last convolution (48–96 channels to 3): the unfolded GEMM has three rows,
            // which OpenBLAS runs at a twentieth of its rate, after writing a column matrix
            // taps × larger than the input. The direct row kernel reads the input rows in place.
            return Tensor.make(geo.outputShape, T.self) { out in
                directForwardFloat(floatPointer(px), floatPointer(pk), pb.map { floatPointer($0) },
                                   mutableFloatPointer(out.baseAddress!), geo, relu: relu)
            }
        }
        if T.self == Float.self && geo.isPointwise && geo.groups == 1 && !relu
            && ChannelMajorProduct.applies(rows: geo.outChannels, depth: geo.inChannels, tokens: ohw) {
            // W·x with the bias added as the tiles are stored: no zeroing pass, no bias pass.
            return Tensor.make(geo.outputShape, T.self) { out in
                ChannelMajorProduct.run(floatPointer(px), floatPointer(pk), pb.map { floatPointer($0) }, nil, gelu: false,
                                        mutableFloatPointer(out.baseAddress!), batch: geo.batch, rows: geo.outChannels,
                                        depth: geo.inChannels, tokens: ohw)
            }
        }
        let y = compute(geo.outputShape, geo, T.self) { py in
            directForward(px, pk, pb, py, geo, relu: relu)
        } pointwise: { py, n, g in
            ParallelGEMM.run(transA: false, transB: false, m: coutG, n: ohw, k: rows,
                             a: pk + g * coutG * rows, lda: rows,
                             b: px + (n * geo.inChannels + g * cinG) * hw, ldb: ohw,
                             beta: 0, c: py + (n * geo.outChannels + g * coutG) * ohw, ldc: ohw)
        } lowered: { py, n, g, band, column in
            let cols = band.count * geo.outWidth
            im2col(px + (n * geo.inChannels + g * cinG) * hw, column, geo, band: band)
            ParallelGEMM.run(transA: false, transB: false, m: coutG, n: cols, k: rows,
                             a: pk + g * coutG * rows, lda: rows, b: column, ldb: cols, beta: 0,
                             c: py + (n * geo.outChannels + g * coutG) * ohw + band.lowerBound * geo.outWidth, ldc: ohw)
        }
        // The direct kernel adds the bias itself; the GEMMs leave it to one pass here.
        if let pb, !geo.usesDirectKernel { addBias(y.basePointer(T.self), pb, geo.batch, geo.outChannels, ohw) }
        if relu && !geo.usesDirectKernel {
            let py = UncheckedSendable(y.basePointer(T.self))
            Parallel.forChunks(geo.batch * geo.outChannels, grain: Swift.max(1, 16_384 / Swift.max(ohw, 1))) { planes in
                for p in planes { reluInPlace(py.value + p * ohw, count: ohw) }
            }
        }
        return y
    }

    /// x ← `ReLUFunction`(x) (NaN becomes 0, as there).
    static func reluInPlace<T: TensorScalar>(_ x: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            reluInPlace(mutableFloatPointer(x), count: count)
            return
        }
        for i in 0..<count { x[i] = ReLUFunction.apply(x[i]) }
    }

    /// The Float form in explicit vectors: the scalar loop was not vectorised, and took longer
    /// than the separate ReLU pass it replaces.
    static func reluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let raw = UnsafeMutableRawPointer(x), zero = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: zero.replacing(with: v, where: v .> zero), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            x[i] = ReLUFunction.apply(x[i])
            i += 1
        }
    }

    /// A new tensor of `shape` filled by the path the geometry takes (see the file comment): the
    /// direct kernel; for a 1×1 convolution one GEMM per (image, group); otherwise GEMMs over
    /// im2col bands of output rows, one (image, group, band) at a time, in order. With
    /// `zeroingLowered`, the lowered path starts from zeros (its bands add into the output).
    static func compute<T: TensorScalar>(
        _ shape: [Int], _ geo: Conv2dGeometry, _: T.Type, zeroingLowered: Bool = false,
        direct: (UnsafeMutablePointer<T>) -> Void,
        pointwise: (UnsafeMutablePointer<T>, _ image: Int, _ group: Int) -> Void,
        lowered: (UnsafeMutablePointer<T>, _ image: Int, _ group: Int, _ band: Range<Int>, _ column: UnsafeMutablePointer<T>) -> Void
    ) -> Tensor {
        Tensor.make(shape, T.self) { out in
            let result = out.baseAddress!
            if geo.usesDirectKernel {
                direct(result)
            } else if geo.isPointwise {
                for n in 0..<geo.batch { for g in 0..<geo.groups { pointwise(result, n, g) } }
            } else {
                if zeroingLowered { out.update(repeating: 0) }
                forEachLoweredBand(geo, T.self) { n, g, band, column in lowered(result, n, g, band, column) }
            }
        }
    }

    static func addBias<T: TensorScalar>(_ y: UnsafeMutablePointer<T>, _ b: UnsafePointer<T>, _ batch: Int, _ channels: Int, _ plane: Int) {
        Parallel.forChunks(batch * channels, grain: Swift.max(1, 16_384 / Swift.max(plane, 1))) { planes in
            for p in planes {
                let v = b[p % channels], row = y + p * plane
                for i in 0..<plane { row[i] += v }
            }
        }
    }

    /// Output rows per im2col band: the unfolded matrix stays ≤ ~16 MB however large the image
    /// (a 3×3 conv of 48 channels at 512² would otherwise unfold to 450 MB).
    static func bandRows(_ geo: Conv2dGeometry, elementSize: Int) -> Int {
        let rows = geo.inPerGroup * geo.taps
        let budget = (16 << 20) / elementSize
        return Swift.max(1, Swift.min(geo.outHeight, budget / Swift.max(rows * geo.outWidth, 1)))
    }

    /// Visits every (image, group, band of output rows) the im2col lowering works through, in
    /// order, with one column buffer of ``bandRows(_:elementSize:)`` rows reused by all of them.
    static func forEachLoweredBand<T: TensorScalar>(
        _ geo: Conv2dGeometry, _: T.Type,
        _ body: (_ image: Int, _ group: Int, _ band: Range<Int>, _ column: UnsafeMutablePointer<T>) -> Void
    ) {
        let bandRows = bandRows(geo, elementSize: MemoryLayout<T>.size)
        TensorMemoryCache.withScratch(T.self, count: geo.inPerGroup * geo.taps * bandRows * geo.outWidth) { column in
            for n in 0..<geo.batch {
                for grp in 0..<geo.groups {
                    for start in stride(from: 0, to: geo.outHeight, by: bandRows) {
                        body(n, grp, start..<Swift.min(geo.outHeight, start + bandRows), column)
                    }
                }
            }
        }
    }

    /// Output rows `band` of one group of one image unfolded: row (ci·kH + kh)·kW + kw, column
    /// (ho − band.lowerBound)·Wo + wo holds x[ci, ho·sh − ph + kh·dh, wo·sw − pw + kw·dw] (0 outside).
    static func im2col<T: TensorScalar>(_ x: UnsafePointer<T>, _ col: UnsafeMutablePointer<T>, _ geo: Conv2dGeometry,
                                        band: Range<Int>) {
        let rows = geo.inPerGroup * geo.taps, ohw = band.count * geo.outWidth
        Parallel.forChunks(rows, grain: Swift.max(1, 16_384 / Swift.max(ohw, 1))) { range in
            for r in range {
                let ci = r / geo.taps, kh = (r % geo.taps) / geo.kernelW, kw = r % geo.kernelW
                let plane = x + ci * geo.height * geo.width, dst = col + r * ohw
                let offW = kw * geo.dilationW - geo.padW
                let valid = VisionMath.validRange(inCount: geo.width, outCount: geo.outWidth, stride: geo.strideW, offset: offW)
                for ho in band {
                    let hi = ho * geo.strideH - geo.padH + kh * geo.dilationH
                    let d = dst + (ho - band.lowerBound) * geo.outWidth
                    guard hi >= 0 && hi < geo.height, !valid.isEmpty else {
                        d.update(repeating: 0, count: geo.outWidth)
                        continue
                    }
                    let src = plane + hi * geo.width
                    for wo in 0..<valid.lowerBound { d[wo] = 0 }
                    if geo.strideW == 1 {
                        (d + valid.lowerBound).update(from: src + valid.lowerBound + offW, count: valid.count)
                    } else {
                        for wo in valid { d[wo] = src[wo * geo.strideW + offW] }
                    }
                    for wo in valid.upperBound..<geo.outWidth { d[wo] = 0 }
                }
            }
        }
    }

    /// Adds an unfolded gradient back onto the input planes of one group (the adjoint of im2col).
    static func col2im<T: TensorScalar>(_ col: UnsafePointer<T>, _ gx: UnsafeMutablePointer<T>, _ geo: Conv2dGeometry,
                                        band: Range<Int>) {
        let ohw = band.count * geo.outWidth
        // One thread per input channel: each writes only its own plane.
        Parallel.forChunks(geo.inPerGroup) { channels in
            for ci in channels {
                let plane = gx + ci * geo.height * geo.width
                for t in 0..<geo.taps {
                    let kh = t / geo.kernelW, kw = t % geo.kernelW
                    let src = col + (ci * geo.taps + t) * ohw
                    let offW = kw * geo.dilationW - geo.padW
                    let valid = VisionMath.validRange(inCount: geo.width, outCount: geo.outWidth, stride: geo.strideW, offset: offW)
                    if valid.isEmpty { continue }
                    for ho in band {
                        let hi = ho * geo.strideH - geo.padH + kh * geo.dilationH
                        guard hi >= 0 && hi < geo.height else { continue }
                        let d = plane + hi * geo.width, s = src + (ho - band.lowerBound) * geo.outWidth
                        if geo.strideW == 1 {
                            let dd = d + offW
                            for wo in valid { dd[wo] += s[wo] }
                        } else {
                            for wo in valid { d[wo * geo.strideW + offW] += s[wo] }
                        }
                    }
                }
            }
        }
    }

    /// Direct convolution, one output plane per task; each output row accumulates every
    /// (input channel, tap) contribution while it stays in L1.
    /// `inputLayout` and `outputLayout` place the planes (default: contiguous NCHW); a group's
    /// input channels must lie in one block of `inputLayout`.
    static func directForward<T: TensorScalar>(_ x: UnsafePointer<T>, _ k: UnsafePointer<T>, _ b: UnsafePointer<T>?,
                                               _ y: UnsafeMutablePointer<T>, _ geo: Conv2dGeometry, relu: Bool = false,
                                               inputLayout: ConvPlaneLayout? = nil, outputLayout: ConvPlaneLayout? = nil) {
        let inputs = inputLayout ?? .contiguous(channels: geo.inChannels)
        let outputs = outputLayout ?? .contiguous(channels: geo.outChannels)
        let hw = geo.height * geo.width, ohw = geo.outHeight * geo.outWidth
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, taps = geo.taps
        let ranges = (0..<geo.kernelW).map {
            VisionMath.validRange(inCount: geo.width, outCount: geo.outWidth, stride: geo.strideW, offset: $0 * geo.dilationW - geo.padW)
        }
        if T.self == Float.self && cinG == 1 && geo.kernelH == 3 && geo.kernelW == 3 && geo.strideH == 1 && geo.strideW == 1
            && geo.padH == 1 && geo.padW == 1 && geo.dilationH == 1 && geo.dilationW == 1 && geo.width >= 2 {
            depthwise3x3Float(floatPointer(x), floatPointer(k), b.map { floatPointer($0) }, mutableFloatPointer(y), geo, relu: relu,
                              inputLayout: inputs, outputLayout: outputs)
            return
        }
        if T.self == Float.self && directFloatApplies(geo) {
            directForwardFloat(floatPointer(x), floatPointer(k), b.map { floatPointer($0) }, mutableFloatPointer(y), geo, relu: relu,
                               inputLayout: inputs, outputLayout: outputs)
            return
        }
        Parallel.forChunks(geo.batch * geo.outChannels) { planes in
            ranges.withUnsafeBufferPointer { ranges in
                for p in planes {
                    let n = p / geo.outChannels, co = p % geo.outChannels, g = co / coutG
                    let xg = x + inputs.plane(image: n, channel: g * cinG) * hw
                    let kc = k + co * cinG * taps
                    let yp = y + outputs.plane(image: n, channel: co) * ohw
                    let bias = b?[co] ?? 0
                    for ho in 0..<geo.outHeight {
                        let row = yp + ho * geo.outWidth
                        row.update(repeating: bias, count: geo.outWidth)
                        for kh in 0..<geo.kernelH {
                            let hi = ho * geo.strideH - geo.padH + kh * geo.dilationH
                            guard hi >= 0 && hi < geo.height else { continue }
                            for ci in 0..<cinG {
                                let src = xg + ci * hw + hi * geo.width
                                let kr = kc + (ci * geo.kernelH + kh) * geo.kernelW
                                if geo.rowsAreThreeWideSame {
                                    // The common 3×3 "same" row, fused: one pass instead of three.
                                    let w0 = kr[0], w1 = kr[1], w2 = kr[2], last = geo.width - 1
                                    row[0] += w1 * src[0] + w2 * src[1]
                                    for wo in 1..<last { row[wo] += w0 * src[wo - 1] + w1 * src[wo] + w2 * src[wo + 1] }
                                    row[last] += w0 * src[last - 1] + w1 * src[last]
                                    continue
                                }
                                for kw in 0..<geo.kernelW {
                                    let valid = ranges[kw]
                                    if valid.isEmpty { continue }
                                    let wv = kr[kw], off = kw * geo.dilationW - geo.padW
                                    if geo.strideW == 1 {
                                        let s = src + off
                                        for wo in valid { row[wo] += wv * s[wo] }
                                    } else {
                                        for wo in valid { row[wo] += wv * src[wo * geo.strideW + off] }
                                    }
                                }
                            }
                        }
                    }
                    if relu { reluInPlace(yp, count: ohw) }
                }
            }
        }
    }

    /// Restormer's `qkv_dwconv` / GDFN depthwise 3×3 ("same" padding) in Float: each output row
    /// is written once from its three input rows, eight outputs at a time in SIMD registers.
    static func depthwise3x3Float(_ x: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                                  _ y: UnsafeMutablePointer<Float>, _ geo: Conv2dGeometry, relu: Bool = false,
                                  inputLayout: ConvPlaneLayout? = nil, outputLayout: ConvPlaneLayout? = nil) {
        let inputs = inputLayout ?? .contiguous(channels: geo.inChannels)
        let outputs = outputLayout ?? .contiguous(channels: geo.outChannels)
        let hw = geo.height * geo.width
        Parallel.forChunks(geo.batch * geo.outChannels) { planes in
            // A zero row stands in for the padding above the first and below the last row.
            let zero = UnsafeMutablePointer<Float>.allocate(capacity: geo.width)
            zero.initialize(repeating: 0, count: geo.width)
            defer { zero.deallocate() }
            for p in planes {
                let n = p / geo.outChannels, co = p % geo.outChannels
                // Output channel co reads input channel co / (channel multiplier).
                let src = x + inputs.plane(image: n, channel: co / geo.outPerGroup) * hw
                let dst = y + outputs.plane(image: n, channel: co) * hw
                depthwise3x3Plane(src, k + co * 9, b?[co] ?? 0, dst, height: geo.height, width: geo.width, zero: zero)
                if relu { reluInPlace(dst, count: hw) }
            }
        }
    }

    /// One H×W plane of the depthwise 3×3 ("same" padding) with the 9 weights at `kc`, by the C
    /// target's `slkd_depthwise3x3_plane_f32` (compiled per instruction set; the Swift SIMD8 loop it
    /// replaced ran at the SSE2 baseline). `zero` holds `w` zeros for the rows outside the plane.
    @inline(__always)
    static func depthwise3x3Plane(_ src: UnsafePointer<Float>, _ kc: UnsafePointer<Float>, _ bias: Float,
                                  _ dst: UnsafeMutablePointer<Float>, height h: Int, width w: Int,
                                  zero: UnsafeMutablePointer<Float>) {
        slkd_depthwise3x3_plane_f32(src, kc, bias, dst, h, w, zero)
    }

    // MARK: Input gradient

    static func inputGradient(_ g: Tensor, _ k: Tensor, _ geo: Conv2dGeometry) -> Tensor {
        g.dtype.withFloatType { inputGradient(g, k, geo, $0) }
    }

    static func inputGradient<T: TensorScalar>(_ g: Tensor, _ k: Tensor, _ geo: Conv2dGeometry, _: T.Type) -> Tensor {
        let pg = UnsafePointer(g.basePointer(T.self)), pk = UnsafePointer(k.basePointer(T.self))
        let hw = geo.height * geo.width, ohw = geo.outHeight * geo.outWidth
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, rows = cinG * geo.taps
        if T.self == Float.self && geo.isPointwise && geo.groups == 1
            && ChannelMajorProduct.applies(rows: geo.inChannels, depth: geo.outChannels, tokens: ohw) {
            // Wᵀ·g without a zeroing pass over the output.
            return Tensor.make(geo.inputShape, T.self) { out in
                ChannelMajorProduct.run(floatPointer(pg), floatPointer(pk), transposedWeight: true, nil, nil, gelu: false,
                                        mutableFloatPointer(out.baseAddress!), batch: geo.batch, rows: geo.inChannels,
                                        depth: geo.outChannels, tokens: ohw)
            }
        }
        return compute(geo.inputShape, geo, T.self, zeroingLowered: true) { gx in
            directInputGradient(pg, pk, gx, geo)
        } pointwise: { gx, n, grp in
            // [Cin, H·W] = Wᵀ · G
            ParallelGEMM.run(transA: true, transB: false, m: rows, n: ohw, k: coutG,
                             a: pk + grp * coutG * rows, lda: rows,
                             b: pg + (n * geo.outChannels + grp * coutG) * ohw, ldb: ohw,
                             beta: 0, c: gx + (n * geo.inChannels + grp * cinG) * hw, ldc: ohw)
        } lowered: { gx, n, grp, band, column in
            let cols = band.count * geo.outWidth
            // [Cin·kH·kW, band] = Wᵀ · G[:, band], then folded back onto the input.
            ParallelGEMM.run(transA: true, transB: false, m: rows, n: cols, k: coutG,
                             a: pk + grp * coutG * rows, lda: rows,
                             b: pg + (n * geo.outChannels + grp * coutG) * ohw + band.lowerBound * geo.outWidth, ldb: ohw,
                             beta: 0, c: column, ldc: cols)
            col2im(UnsafePointer(column), gx + (n * geo.inChannels + grp * cinG) * hw, geo, band: band)
        }
    }

    /// The input gradient of the direct kernel, one input plane per task (so that writes never race).
    static func directInputGradient<T: TensorScalar>(_ g: UnsafePointer<T>, _ k: UnsafePointer<T>,
                                                     _ gx: UnsafeMutablePointer<T>, _ geo: Conv2dGeometry) {
        let hw = geo.height * geo.width, ohw = geo.outHeight * geo.outWidth
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, taps = geo.taps
        if T.self == Float.self && cinG == 1 && coutG == 1 && geo.kernelH == 3 && geo.kernelW == 3 && geo.strideH == 1 && geo.strideW == 1
            && geo.padH == 1 && geo.padW == 1 && geo.dilationH == 1 && geo.dilationW == 1 && geo.width >= 2 {
            // Plain depthwise "same" 3×3: the input gradient is the same convolution of the output
            // gradient with the kernel rotated by 180°.
            let flipped = UnsafeMutablePointer<Float>.allocate(capacity: geo.outChannels * 9)
            defer { flipped.deallocate() }
            let kf = floatPointer(k)
            for c in 0..<geo.outChannels { for t in 0..<9 { flipped[c * 9 + t] = kf[c * 9 + 8 - t] } }
            depthwise3x3Float(floatPointer(g), flipped, nil, mutableFloatPointer(gx), geo)
            return
        }
        if T.self == Float.self,
           directInputGradientFloat(floatPointer(g), floatPointer(k), mutableFloatPointer(gx), geo) {
            return
        }
        let ranges = (0..<geo.kernelW).map {
            VisionMath.validRange(inCount: geo.width, outCount: geo.outWidth, stride: geo.strideW, offset: $0 * geo.dilationW - geo.padW)
        }
        Parallel.forChunks(geo.batch * geo.inChannels) { planes in
            ranges.withUnsafeBufferPointer { ranges in
                for p in planes {
                    let n = p / geo.inChannels, c = p % geo.inChannels, grp = c / cinG, ci = c % cinG
                    let plane = gx + p * hw
                    plane.update(repeating: 0, count: hw)
                    for j in 0..<coutG {
                        let co = grp * coutG + j
                        let gp = g + (n * geo.outChannels + co) * ohw
                        let kc = k + (co * cinG + ci) * taps
                        for ho in 0..<geo.outHeight {
                            let grow = gp + ho * geo.outWidth
                            for kh in 0..<geo.kernelH {
                                let hi = ho * geo.strideH - geo.padH + kh * geo.dilationH
                                guard hi >= 0 && hi < geo.height else { continue }
                                let dst = plane + hi * geo.width
                                let kr = kc + kh * geo.kernelW
                                if geo.rowsAreThreeWideSame {
                                    // x[wi] receives g[wi+1]·w0 + g[wi]·w1 + g[wi−1]·w2.
                                    let w0 = kr[0], w1 = kr[1], w2 = kr[2], last = geo.width - 1
                                    dst[0] += w0 * grow[1] + w1 * grow[0]
                                    for wi in 1..<last { dst[wi] += w0 * grow[wi + 1] + w1 * grow[wi] + w2 * grow[wi - 1] }
                                    dst[last] += w1 * grow[last] + w2 * grow[last - 1]
                                    continue
                                }
                                for kw in 0..<geo.kernelW {
                                    let valid = ranges[kw]
                                    if valid.isEmpty { continue }
                                    let wv = kr[kw], off = kw * geo.dilationW - geo.padW
                                    if geo.strideW == 1 {
                                        let d = dst + off
                                        for wo in valid { d[wo] += wv * grow[wo] }
                                    } else {
                                        for wo in valid { dst[wo * geo.strideW + off] += wv * grow[wo] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Weight and bias gradients

    static func weightGradient(_ x: Tensor, _ g: Tensor, _ geo: Conv2dGeometry) -> Tensor {
        x.dtype.withFloatType { weightGradient(x, g, geo, $0) }
    }

    static func weightGradient<T: TensorScalar>(_ x: Tensor, _ g: Tensor, _ geo: Conv2dGeometry, _: T.Type) -> Tensor {
        let px = UnsafePointer(x.basePointer(T.self)), pg = UnsafePointer(g.basePointer(T.self))
        let hw = geo.height * geo.width, ohw = geo.outHeight * geo.outWidth
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, rows = cinG * geo.taps
        return compute(geo.weightShape, geo, T.self) { gw in
            directWeightGradient(px, pg, gw, geo)
        } pointwise: { gw, n, grp in
            // [Cout, Cin] += G · Xᵀ
            ParallelGEMM.run(transA: false, transB: true, m: coutG, n: rows, k: ohw,
                             a: pg + (n * geo.outChannels + grp * coutG) * ohw, lda: ohw,
                             b: px + (n * geo.inChannels + grp * cinG) * hw, ldb: ohw,
                             beta: n == 0 ? 0 : 1, c: gw + grp * coutG * rows, ldc: rows)
        } lowered: { gw, n, grp, band, column in
            let cols = band.count * geo.outWidth
            im2col(px + (n * geo.inChannels + grp * cinG) * hw, column, geo, band: band)
            // [Cout, Cin·kH·kW] += G[:, band] · colᵀ
            ParallelGEMM.run(transA: false, transB: true, m: coutG, n: rows, k: cols,
                             a: pg + (n * geo.outChannels + grp * coutG) * ohw + band.lowerBound * geo.outWidth, lda: ohw,
                             b: column, ldb: cols,
                             beta: n == 0 && band.lowerBound == 0 ? 0 : 1, c: gw + grp * coutG * rows, ldc: rows)
        }
    }

    /// The weight gradient of the direct kernel: per output channel, one dot product per
    /// (input channel, tap, output row).
    static func directWeightGradient<T: TensorScalar>(_ x: UnsafePointer<T>, _ g: UnsafePointer<T>,
                                                      _ gw: UnsafeMutablePointer<T>, _ geo: Conv2dGeometry) {
        if T.self == Float.self && geo.isThreeByThreeSame {
            threeByThreeSameWeightGradientFloat(floatPointer(x), floatPointer(g), mutableFloatPointer(gw), geo)
            return
        }
        if T.self == Float.self && directFloatApplies(geo) && !geo.rowsAreThreeWideSame {
            directWeightGradientFloat(floatPointer(x), floatPointer(g), mutableFloatPointer(gw), geo)
            return
        }
        let ranges = (0..<geo.kernelW).map {
            VisionMath.validRange(inCount: geo.width, outCount: geo.outWidth, stride: geo.strideW, offset: $0 * geo.dilationW - geo.padW)
        }
        let threeWideSame = geo.rowsAreThreeWideSame
        forEachWeightGradientPlane(x, g, gw, geo) { gp, xp, kc in
            if threeWideSame {
                // The common 3×3 "same" case: three taps per pass over each row pair.
                let last = geo.width - 1
                for kh in 0..<geo.kernelH {
                    var a0: T = 0, a1: T = 0, a2: T = 0
                    for ho in 0..<geo.outHeight {
                        let hi = ho * geo.strideH - geo.padH + kh * geo.dilationH
                        guard hi >= 0 && hi < geo.height else { continue }
                        let grow = gp + ho * geo.outWidth, xrow = xp + hi * geo.width
                        let (d0, d1, d2) = VisionMath.dot3(grow, xrow, geo.width)
                        a0 += d0 + grow[last] * xrow[last - 1]
                        a1 += d1 + grow[0] * xrow[0] + grow[last] * xrow[last]
                        a2 += d2 + grow[0] * xrow[1]
                    }
                    let kr = kc + kh * 3
                    kr[0] += a0; kr[1] += a1; kr[2] += a2
                }
                return
            }
            for kh in 0..<geo.kernelH {
                for kw in 0..<geo.kernelW {
                    let valid = ranges[kw]
                    if valid.isEmpty { continue }
                    let off = kw * geo.dilationW - geo.padW
                    var acc: T = 0
                    for ho in 0..<geo.outHeight {
                        let hi = ho * geo.strideH - geo.padH + kh * geo.dilationH
                        guard hi >= 0 && hi < geo.height else { continue }
                        let grow = gp + ho * geo.outWidth, xrow = xp + hi * geo.width
                        if geo.strideW == 1 {
                            acc += VisionMath.dot(grow + valid.lowerBound, xrow + valid.lowerBound + off, valid.count)
                        } else {
                            for wo in valid { acc += grow[wo] * xrow[wo * geo.strideW + off] }
                        }
                    }
                    kc[kh * geo.kernelW + kw] += acc
                }
            }
        }
    }

    /// The weight gradient of a 3×3, stride-1, padding-1 convolution in Float (every depthwise
    /// convolution of Restormer, DRSformer and Uformer's LeFF): each plane pair's nine taps in one
    /// pass of the C target's `slkd_depthwise3x3_weight_gradient_f32`, instead of a pass per kernel
    /// row at Swift's baseline vector width.
    static func threeByThreeSameWeightGradientFloat(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                                    _ gw: UnsafeMutablePointer<Float>, _ geo: Conv2dGeometry) {
        let (height, width) = (geo.height, geo.width)
        forEachWeightGradientPlane(x, g, gw, geo) { gp, xp, taps in
            slkd_depthwise3x3_weight_gradient_f32(gp, xp, height, width, taps)
        }
    }

    /// The loop every direct weight-gradient kernel shares: output channels run in parallel, one
    /// per task; each channel's kernel is zeroed, then `accumulate` adds the contribution of every
    /// (image, input channel of the group) pair — the output-gradient plane, the input plane and
    /// that input channel's `kernelH·kernelW` taps of the kernel.
    static func forEachWeightGradientPlane<T: TensorScalar>(
        _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ gw: UnsafeMutablePointer<T>, _ geo: Conv2dGeometry,
        _ accumulate: (_ gradientPlane: UnsafePointer<T>, _ inputPlane: UnsafePointer<T>, _ taps: UnsafeMutablePointer<T>) -> Void
    ) {
        let hw = geo.height * geo.width, ohw = geo.outHeight * geo.outWidth
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, taps = geo.taps
        Parallel.forChunks(geo.outChannels) { channels in
            for co in channels {
                let grp = co / coutG
                let kc = gw + co * cinG * taps
                kc.update(repeating: 0, count: cinG * taps)
                for n in 0..<geo.batch {
                    let gp = g + (n * geo.outChannels + co) * ohw
                    let xg = x + (n * geo.inChannels + grp * cinG) * hw
                    for ci in 0..<cinG { accumulate(gp, xg + ci * hw, kc + ci * taps) }
                }
            }
        }
    }

    /// Σ over batch and space of an NC… gradient: the bias gradient [C].
    static func biasGradient(_ g: Tensor) -> Tensor {
        g.dtype.withFloatType { biasGradient(g, $0) }
    }

    static func biasGradient<T: TensorScalar>(_ g: Tensor, _: T.Type) -> Tensor {
        let batch = g.shape[0], channels = g.shape[1], plane = g.count / Swift.max(batch * channels, 1)
        let pg = UnsafePointer(g.basePointer(T.self))
        return Tensor.make([channels], T.self) { out in
            let o = out.baseAddress!
            Parallel.forChunks(channels, grain: Swift.max(1, 16_384 / Swift.max(plane * batch, 1))) { range in
                for c in range {
                    var s: T = 0
                    for n in 0..<batch { s += VisionMath.sum(pg + (n * channels + c) * plane, plane) }
                    o[c] = s
                }
            }
        }
    }
}
