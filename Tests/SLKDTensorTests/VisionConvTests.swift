import Testing
import SLKDTensor

/// The ops of `vision_conv.json`, by the op name the generator wrote.
private func convOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    let s = c.params["stride"]!.ints, p = c.params["padding"]!.ints, d = c.params["dilation"]!.ints
    let groups = c.params["groups"]!.int
    switch c.op {
    case "conv", "conv_nobias":
        return { t in
            Tensor.conv2d(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: (s[0], s[1]),
                          padding: (p[0], p[1]), dilation: (d[0], d[1]), groups: groups)
        }
    case "convt", "convt_nobias":
        let op = c.params["output_padding"]?.ints ?? [0, 0]
        return { t in
            Tensor.convTranspose2d(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: (s[0], s[1]),
                                   padding: (p[0], p[1]), outputPadding: (op[0], op[1]), dilation: (d[0], d[1]), groups: groups)
        }
    default: fatalError("unknown op \(c.op)")
    }
}

@Suite("Vision: convolutions")
struct VisionConvTests {
    static let cases = (try? loadReferenceCases("vision_conv")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, convOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5, convOp(c))
    }

    @Test("pass float64 gradient checks", arguments: cases.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let report = gradCheck(c.orderedInputs(), convOp(c))
        #expect(report.passed, "\(report)")
    }

    /// The output length of convolutions and pooling is PyTorch's ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1,
    /// written here with floor division; where the kernel overhangs the padded input it is 0 (a
    /// division rounding toward zero would give 1 for an overhang smaller than the stride).
    @Test func outputSizeIsPyTorchs() {
        func floorDivided(_ a: Int, _ b: Int) -> Int { Int((Double(a) / Double(b)).rounded(.down)) }
        for n in 1...9 { for k in 1...5 { for s in 1...3 { for p in 0...2 { for d in 1...2 {
            let expected = Swift.max(0, floorDivided(n + 2 * p - d * (k - 1) - 1, s) + 1)
            #expect(convolutionOutputSize(n, k, s, p, d) == expected, "n \(n) k \(k) s \(s) p \(p) d \(d)")
        } } } } }
        #expect(convolutionOutputSize(2, 3, 2, 0, 1) == 0)
        #expect(convolutionOutputSize(4, 3, 2, 0, 2) == 0)
        #expect(convolutionOutputSize(128, 4, 2, 1, 1) == 64)
    }

    /// A 1×1 convolution is a matrix product over channels: check it against `matmul` on a size
    /// large enough for the threaded paths.
    @Test func pointwiseEqualsMatmul() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.uniform([1, 48, 32, 40], low: -1, high: 1, dtype: .float64, using: &rng)
        let w = Tensor.uniform([144, 48, 1, 1], low: -1, high: 1, dtype: .float64, using: &rng)
        let y = Tensor.conv2d(x, weight: w)
        let expected = w.reshaped([144, 48]).matmul(x.reshaped([48, 32 * 40])).reshaped([1, 144, 32, 40])
        expectClose(y, expected, rtol: 1e-12, atol: 1e-12, "pointwise conv")
    }

    /// The direct depthwise kernel and the im2col path agree on a large threaded case (the
    /// depthwise weight embedded in a dense block-diagonal weight).
    @Test func depthwiseEqualsDenseBlockDiagonal() {
        var rng = RandomGenerator(seed: 4)
        let c = 6
        let x = Tensor.uniform([2, c, 33, 31], low: -1, high: 1, dtype: .float64, using: &rng).requiringGrad()
        let w = Tensor.uniform([c, 1, 3, 3], low: -1, high: 1, dtype: .float64, using: &rng).requiringGrad()
        let mask = Tensor(shape: [c, c, 1, 1], scalars: (0..<(c * c)).map { $0 / c == $0 % c ? 1.0 : 0.0 })
        let dense = w.expanded(to: [c, c, 3, 3]) * mask
        let y1 = Tensor.conv2d(x, weight: w, padding: 1, groups: c)
        let y2 = Tensor.conv2d(x, weight: dense, padding: 1)
        expectClose(y1, y2, rtol: 1e-12, atol: 1e-12, "depthwise forward")
        let g1 = (y1 * y1).sum().gradients(wrt: [x, w])
        let g2 = (y2 * y2).sum().gradients(wrt: [x, w])
        expectClose(g1[0], g2[0], rtol: 1e-11, atol: 1e-11, "depthwise input grad")
        expectClose(g1[1], g2[1], rtol: 1e-11, atol: 1e-10, "depthwise weight grad")
    }

    /// `conv2dReLU` is `conv2d(…).relu()` in one op: the same values and gradients on the
    /// depthwise 3×3 kernel, the direct kernel (two channels per group, 5×5) and the GEMM path
    /// (dense 3×3), in Float and Float64, with a NaN input (ReLU's rule: NaN becomes 0).
    @Test(arguments: [DType.float32, .float64])
    func convolutionWithReLUEqualsTwoOps(_ dtype: DType) {
        struct Case { let cin, cout, kernel, groups: Int }
        var rng = RandomGenerator(seed: 43)
        for c in [Case(cin: 6, cout: 6, kernel: 3, groups: 6), Case(cin: 8, cout: 4, kernel: 5, groups: 4),
                  Case(cin: 5, cout: 7, kernel: 3, groups: 1)] {
            var values = Tensor.uniform([2, c.cin, 11, 37], low: -1, high: 1, dtype: .float64, using: &rng).doubles
            values[17] = .nan
            let x = Tensor(shape: [2, c.cin, 11, 37], scalars: values).cast(to: dtype)
            let w = Tensor.uniform([c.cout, c.cin / c.groups, c.kernel, c.kernel], low: -1, high: 1, dtype: dtype, using: &rng)
            let b = Tensor.uniform([c.cout], low: -0.5, high: 0.5, dtype: dtype, using: &rng)
            let upstream = Tensor.uniform([2, c.cout, 11, 37], low: -1, high: 1, dtype: dtype, using: &rng)
            func run(_ fused: Bool) -> [Tensor] {
                let (xv, wv, bv) = (x.requiringGrad(), w.requiringGrad(), b.requiringGrad())
                let y = fused ? Tensor.conv2dReLU(xv, weight: wv, bias: bv, padding: c.kernel / 2, groups: c.groups)
                    : Tensor.conv2d(xv, weight: wv, bias: bv, padding: c.kernel / 2, groups: c.groups).relu()
                return [y.detached()] + (y * upstream).sum().gradients(wrt: [xv, wv, bv])
            }
            let (fused, separate) = (run(true), run(false))
            for (k, (f, s)) in zip(fused, separate).enumerated() {
                let (fv, sv) = (f.cast(to: .float64).doubles, s.cast(to: .float64).doubles)
                #expect(fv.count == sv.count)
                let same = zip(fv, sv).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }
                #expect(same, "output \(k), \(c), \(dtype)")
            }
        }
    }

    /// Float64 central differences of `conv2dReLU` on the three paths (its backward masks by the
    /// output's sign before the convolution's rule).
    @Test func convolutionWithReLUPassesGradientChecks() {
        var rng = RandomGenerator(seed: 47)
        for (cin, cout, kernel, groups) in [(4, 4, 3, 4), (6, 3, 5, 3), (3, 5, 3, 1)] {
            let x = Tensor.uniform([1, cin, 6, 7], low: -1, high: 1, dtype: .float64, using: &rng)
            let w = Tensor.uniform([cout, cin / groups, kernel, kernel], low: -1, high: 1, dtype: .float64, using: &rng)
            let b = Tensor.uniform([cout], low: -0.5, high: 0.5, dtype: .float64, using: &rng)
            let report = gradCheck([x, w, b]) { t in
                Tensor.conv2dReLU(t[0], weight: t[1], bias: t[2], padding: kernel / 2, groups: groups)
            }
            #expect(report.passed, "\(cin)→\(cout), \(kernel)×\(kernel), \(groups) groups: \(report)")
        }
    }

    /// Dense stride-1 convolutions to at most four planes (a network's last layer) run forward on
    /// the direct row kernel in Float: they must match the same convolution in Float64 (the GEMM
    /// path) to Float rounding, with and without ReLU, for 3×3, 5×5 dilated and 1×7 kernels, and
    /// their gradients must still match too.
    @Test func fewOutputPlanesOnTheDirectKernel() {
        var rng = RandomGenerator(seed: 61)
        for (cin, cout, kh, kw, pad, dilation) in [(40, 3, 3, 3, 1, 1), (24, 4, 5, 5, 4, 2), (12, 1, 1, 7, 0, 1)] {
            let x = Tensor.uniform([2, cin, 19, 33], low: -1, high: 1, dtype: .float64, using: &rng)
            let w = Tensor.uniform([cout, cin, kh, kw], low: -0.3, high: 0.3, dtype: .float64, using: &rng)
            let b = Tensor.uniform([cout], low: -0.5, high: 0.5, dtype: .float64, using: &rng)
            for relu in [false, true] {
                func run(_ dtype: DType) -> [Tensor] {
                    let (xv, wv, bv) = (x.cast(to: dtype).requiringGrad(), w.cast(to: dtype).requiringGrad(),
                                        b.cast(to: dtype).requiringGrad())
                    let y = relu ? Tensor.conv2dReLU(xv, weight: wv, bias: bv, padding: pad, dilation: dilation)
                        : Tensor.conv2d(xv, weight: wv, bias: bv, stride: (1, 1), padding: (pad, pad), dilation: (dilation, dilation))
                    return [y] + y.sum().gradients(wrt: [xv, wv, bv])
                }
                let (single, double) = (run(.float32), run(.float64))
                for (k, name) in ["output", "input grad", "weight grad", "bias grad"].enumerated() {
                    expectClose(single[k].cast(to: .float64), double[k], rtol: 1e-5, atol: 2e-5,
                                "\(cin)→\(cout) \(kh)×\(kw) relu \(relu): \(name)")
                }
            }
        }
    }

    /// A dense conv large enough to be unfolded in several row bands equals the sum of its
    /// single-input-channel convolutions (which run on the direct kernel), values and gradients.
    @Test func bandedIm2colEqualsChannelSplitDirect() {
        var rng = RandomGenerator(seed: 6)
        let cin = 16
        let x = Tensor.uniform([1, cin, 40, 512], low: -1, high: 1, dtype: .float64, using: &rng).requiringGrad()
        let w = Tensor.uniform([3, cin, 3, 3], low: -1, high: 1, dtype: .float64, using: &rng).requiringGrad()
        let y1 = Tensor.conv2d(x, weight: w, padding: 1)
        var y2 = Tensor.conv2d(x.narrowed(axis: 1, start: 0, length: 1), weight: w.narrowed(axis: 1, start: 0, length: 1), padding: 1)
        for c in 1..<cin {
            y2 = y2 + Tensor.conv2d(x.narrowed(axis: 1, start: c, length: 1), weight: w.narrowed(axis: 1, start: c, length: 1), padding: 1)
        }
        expectClose(y1, y2, rtol: 1e-11, atol: 1e-11, "banded forward")
        let seed = Tensor.uniform(y1.shape, low: -1, high: 1, dtype: .float64, using: &rng)
        let g1 = y1.gradients(wrt: [x, w], seed: seed), g2 = y2.gradients(wrt: [x, w], seed: seed)
        expectClose(g1[0], g2[0], rtol: 1e-11, atol: 1e-11, "banded input grad")
        expectClose(g1[1], g2[1], rtol: 1e-10, atol: 1e-9, "banded weight grad")
    }

    /// The Float SIMD depthwise 3×3 kernel agrees with the generic kernel (run in Float64) on
    /// widths that exercise its vector body, its scalar tail and its two-column edge case.
    @Test(arguments: [2, 9, 10, 17, 37])
    func floatDepthwiseMatchesGeneric(width: Int) {
        var rng = RandomGenerator(seed: UInt64(width))
        let x = Tensor.uniform([2, 3, 5, width], low: -1, high: 1, dtype: .float64, using: &rng)
        let w = Tensor.uniform([6, 1, 3, 3], low: -1, high: 1, dtype: .float64, using: &rng)
        let b = Tensor.uniform([6], low: -1, high: 1, dtype: .float64, using: &rng)
        let y64 = Tensor.conv2d(x, weight: w, bias: b, padding: 1, groups: 3)
        let y32 = Tensor.conv2d(x.cast(to: .float32), weight: w.cast(to: .float32), bias: b.cast(to: .float32), padding: 1, groups: 3)
        expectClose(y32.cast(to: .float64), y64, rtol: 1e-5, atol: 1e-5, "float depthwise width \(width)")
        // Plain depthwise (multiplier 1) gradients: the Float input gradient runs on the same SIMD kernel.
        let seed = Tensor.uniform([2, 3, 5, width], low: -1, high: 1, dtype: .float64, using: &rng)
        let (xa, wa) = (x.requiringGrad(), w.narrowed(axis: 0, start: 0, length: 3).contiguous().requiringGrad())
        let (xb, wb) = (x.cast(to: .float32).requiringGrad(), wa.detached().cast(to: .float32).requiringGrad())
        let g64 = Tensor.conv2d(xa, weight: wa, padding: 1, groups: 3).gradients(wrt: [xa, wa], seed: seed)
        let g32 = Tensor.conv2d(xb, weight: wb, padding: 1, groups: 3).gradients(wrt: [xb, wb], seed: seed.cast(to: .float32))
        expectClose(g32[0].cast(to: .float64), g64[0], rtol: 1e-5, atol: 1e-5, "float depthwise dX width \(width)")
        expectClose(g32[1].cast(to: .float64), g64[1], rtol: 1e-4, atol: 1e-4, "float depthwise dW width \(width)")
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 19) }
}

/// The GDFN's fused depthwise 3×3 + GELU gate gives the two-op result bit for bit, counts the
/// convolution's MACs as conv2d does, and falls back to the two ops when a graph is recorded.
@Suite("Fused depthwise 3×3 and GELU gate")
struct DepthwiseGELUGateTests {
    @Test(arguments: [(2, 6, 5, 7, true), (1, 8, 16, 19, false), (3, 4, 9, 2, true)])
    func matchesTwoOps(shape: (Int, Int, Int, Int, Bool)) {
        expectFusedDepthwiseMatchesTwoOps(shape, range: 2, seed: 7, outputChannels: shape.1 / 2,
                                          fused: { Tensor.depthwiseConv3x3GELUGate($0, weight: $1, bias: $2) },
                                          twoOps: { Tensor.conv2d($0, weight: $1, bias: $2, padding: 1, groups: $0.shape[1]).geluGateOverChannels() })
    }

    @Test func recordsTheGraphThroughTheTwoOps() {
        var g = RandomGenerator(seed: 8)
        let x = Tensor.uniform([1, 4, 6, 6], using: &g).requiringGrad()
        let weight = Tensor.uniform([4, 1, 3, 3], using: &g)
        let y = Tensor.depthwiseConv3x3GELUGate(x, weight: weight)
        #expect(y.requiresGrad)
        let expected = Tensor.conv2d(x, weight: weight, padding: 1, groups: 4).geluGateOverChannels()
        #expect(y.floats == expected.floats)
        #expect(y.sum().gradients(wrt: [x])[0].floats == expected.sum().gradients(wrt: [x])[0].floats)
    }
}

/// LeFF's fused depthwise 3×3 + GELU gives the two-op result bit for bit (rows of one and two
/// columns' edge handling included), counts the convolution's MACs as conv2d does, reads a strided
/// input, and falls back to the two ops when a graph is recorded.
@Suite("Fused depthwise 3×3 and GELU")
struct DepthwiseGELUTests {
    @Test(arguments: [(2, 6, 5, 7, true), (1, 8, 16, 19, false), (3, 4, 9, 2, true), (1, 3, 1, 33, true)])
    func matchesTwoOps(shape: (Int, Int, Int, Int, Bool)) {
        expectFusedDepthwiseMatchesTwoOps(shape, range: 4, seed: 9, outputChannels: shape.1,
                                          fused: { Tensor.depthwiseConv3x3GELU($0, weight: $1, bias: $2) },
                                          twoOps: { Tensor.conv2d($0, weight: $1, bias: $2, padding: 1, groups: $0.shape[1]).gelu() })
    }

    @Test func recordsTheGraphThroughTheTwoOps() {
        var g = RandomGenerator(seed: 10)
        let x = Tensor.uniform([1, 4, 6, 6], using: &g).requiringGrad()
        let weight = Tensor.uniform([4, 1, 3, 3], using: &g)
        let bias = Tensor.uniform([4], using: &g)
        let y = Tensor.depthwiseConv3x3GELU(x, weight: weight, bias: bias)
        #expect(y.requiresGrad)
        let expected = Tensor.conv2d(x, weight: weight, bias: bias, padding: 1, groups: 4).gelu()
        #expect(y.floats == expected.floats)
        #expect(y.sum().gradients(wrt: [x])[0].floats == expected.sum().gradients(wrt: [x])[0].floats)
    }
}

/// A fused depthwise 3×3 op without a graph against its two ops on an input of `shape` (images,
/// channels, height, width, with bias) uniform in ±`range`: the same bits, the convolution's MACs
/// counted as conv2d counts them, and the same bits again from a transposed (strided) input.
func expectFusedDepthwiseMatchesTwoOps(_ shape: (Int, Int, Int, Int, Bool), range: Double, seed: UInt64, outputChannels: Int,
                                       fused: (Tensor, Tensor, Tensor?) -> Tensor,
                                       twoOps: (Tensor, Tensor, Tensor?) -> Tensor) {
    let (n, c, h, w, withBias) = shape
    var g = RandomGenerator(seed: seed)
    let x = Tensor.uniform([n, c, h, w], low: -range, high: range, using: &g)
    let weight = Tensor.uniform([c, 1, 3, 3], low: -1, high: 1, using: &g)
    let bias = withBias ? Tensor.uniform([c], low: -0.5, high: 0.5, using: &g) : nil
    let expected = withoutGradients { twoOps(x, weight, bias) }.floats.map(\.bitPattern)
    let (result, report) = MACCounter.counting { withoutGradients { fused(x, weight, bias) } }
    #expect(result.shape == [n, outputChannels, h, w])
    #expect(result.floats.map(\.bitPattern) == expected, "\(shape)")
    #expect(report.macs(.conv) == n * c * 9 * h * w)
    let strided = x.transposed(2, 3).contiguous().transposed(2, 3)
    #expect(withoutGradients { fused(strided, weight, bias) }.floats.map(\.bitPattern) == expected, "\(shape), strided")
}
