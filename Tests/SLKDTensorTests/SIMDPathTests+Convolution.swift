import Testing
import SLKDTensor
import SLKDTestSupport

/// The float32 direct convolution runs its rows in the C target's `slkd_conv_rows_f32`, compiled
/// per instruction set with 32-column (baseline), 64-column (AVX2) or 128-column (AVX-512) blocks, and the
/// depthwise 3×3 its planes in `slkd_depthwise3x3_plane_f32`. Each path must give PyTorch's numbers
/// and the same bits as the baseline. Part of the serialized "SIMD paths" suite: `withPath`
/// switches the path for the whole process, so no two tests may switch it at once.
extension SIMDPathTests {
    /// The stride-1 grouped cases of vision_conv.json, which take the direct kernel.
    static let directCases = ((try? loadReferenceCases("vision_conv")) ?? []).filter { c in
        c.op.hasPrefix("conv") && !c.op.hasPrefix("convt") && c.params["stride"]!.ints == [1, 1]
            && c.params["groups"]!.int > 1 && c.inputs[c.inputOrder[1]]!.shape[2...].reduce(1, *) > 1
    }

    static func convolve(_ t: [Tensor], _ c: ReferenceCase) -> Tensor {
        let p = c.params["padding"]!.ints, d = c.params["dilation"]!.ints
        return Tensor.conv2d(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: (1, 1),
                             padding: (p[0], p[1]), dilation: (d[0], d[1]), groups: c.params["groups"]!.int)
    }

    @Test("the direct convolutions' PyTorch float32 vectors pass on every path", arguments: SIMDPath.supported)
    func directConvPyTorchVectors(_ path: SIMDPath) {
        #expect(Self.directCases.contains { $0.name == "depthwise5x5" } && Self.directCases.contains { $0.name == "grouped2ch_5x5" }
                && Self.directCases.contains { $0.name == "depthwise3x3" })
        SIMDPath.withPath(path) {
            for c in Self.directCases {
                checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5) { Self.convolve($0, c) }
            }
        }
    }

    /// DRSformer's shapes at widths that use every block size and the 8-column tail (75 = 64 + 8 +
    /// 3 padding columns; 40 = 32 + 8; 200 = 128 + 64 + 8): 5×5 depthwise, 3×3 with two channels per
    /// group, and a dilated 3×3; and Restormer's "same" depthwise 3×3, whose planes have vector and
    /// edge columns. Then DRSformer's own widths, 16, 32, 64 and 128, whose interior rows the
    /// AVX-512 path runs several at a time (eight rows of 16, four of 32): 21 rows leave a remainder
    /// after those groups. Compared with the Float64 convolution (a separate generic kernel) and, bit
    /// for bit, with the baseline path.
    @Test("direct convolutions of wide rows: the baseline's bits on every path, and the Float64 result", arguments: SIMDPath.supported)
    func directConvWideRows(_ path: SIMDPath) {
        struct Shape { var channels, groups, kernel, padding, dilation, width: Int, height = 9 }
        var shapes = [Shape(channels: 6, groups: 6, kernel: 5, padding: 2, dilation: 1, width: 75),
                      Shape(channels: 6, groups: 6, kernel: 3, padding: 1, dilation: 1, width: 75),
                      Shape(channels: 6, groups: 3, kernel: 3, padding: 1, dilation: 1, width: 40),
                      Shape(channels: 4, groups: 4, kernel: 3, padding: 2, dilation: 2, width: 75),
                      Shape(channels: 2, groups: 2, kernel: 5, padding: 2, dilation: 1, width: 200)]
        for width in [16, 32, 64, 128] {
            shapes += [Shape(channels: 4, groups: 4, kernel: 5, padding: 2, dilation: 1, width: width, height: 21),
                       Shape(channels: 4, groups: 2, kernel: 3, padding: 1, dilation: 1, width: width, height: 21),
                       Shape(channels: 2, groups: 2, kernel: 3, padding: 2, dilation: 2, width: width, height: 21)]
        }
        var rng = RandomGenerator(seed: 11)
        for s in shapes {
            let x = Tensor.uniform([2, s.channels, s.height, s.width], low: -1, high: 1, dtype: .float32, using: &rng)
            let w = Tensor.uniform([s.channels, s.channels / s.groups, s.kernel, s.kernel], low: -1, high: 1, dtype: .float32, using: &rng)
            let b = Tensor.uniform([s.channels], low: -1, high: 1, dtype: .float32, using: &rng)
            func run() -> Tensor {
                Tensor.conv2d(x, weight: w, bias: b, padding: s.padding, dilation: s.dilation, groups: s.groups)
            }
            let baseline = SIMDPath.withPath(.baseline, run).floats
            let wide = SIMDPath.withPath(path, run)
            #expect(wide.floats.map(\.bitPattern) == baseline.map(\.bitPattern), "\(s) on \(path)")
            let exact = Tensor.conv2d(x.cast(to: .float64), weight: w.cast(to: .float64), bias: b.cast(to: .float64),
                                      padding: s.padding, dilation: s.dilation, groups: s.groups)
            expectClose(wide.cast(to: .float64), exact, rtol: 1e-5, atol: 1e-5, "\(s) on \(path)")
        }
    }

    /// The 3×3 "same" weight gradient (`slkd_depthwise3x3_weight_gradient_f32`: nine taps per
    /// pass, 16 fixed lanes) at widths around its 16-column blocks and edge blocks (2, 5, 16, 17,
    /// 18, 33, 75), one- and two-row planes, depthwise and two channels per group, two images.
    /// Every path gives the baseline's bits and the Float64 gradient.
    @Test("3×3 same weight gradients: the baseline's bits on every path, and the Float64 result", arguments: SIMDPath.supported)
    func threeByThreeWeightGradient(_ path: SIMDPath) {
        var rng = RandomGenerator(seed: 23)
        for (height, width, groups) in [(9, 2, 4), (1, 5, 4), (2, 16, 4), (7, 17, 4), (3, 18, 2), (5, 33, 4), (9, 75, 4)] {
            let x = Tensor.uniform([2, 4, height, width], low: -1, high: 1, dtype: .float32, using: &rng)
            let w = Tensor.uniform([4, 4 / groups, 3, 3], low: -1, high: 1, dtype: .float32, using: &rng)
            let upstream = Tensor.uniform([2, 4, height, width], low: -1, high: 1, dtype: .float32, using: &rng)
            func weightGradient(_ x: Tensor, _ w: Tensor, _ upstream: Tensor) -> Tensor {
                let weight = w.requiringGrad()
                return (Tensor.conv2d(x, weight: weight, padding: 1, groups: groups) * upstream).sum().gradients(wrt: [weight])[0]
            }
            let baseline = SIMDPath.withPath(.baseline) { weightGradient(x, w, upstream) }.floats
            let wide = SIMDPath.withPath(path) { weightGradient(x, w, upstream) }
            #expect(wide.floats.map(\.bitPattern) == baseline.map(\.bitPattern), "\(height)×\(width), groups \(groups) on \(path)")
            let exact = weightGradient(x.cast(to: .float64), w.cast(to: .float64), upstream.cast(to: .float64))
            expectClose(wide.cast(to: .float64), exact, rtol: 1e-5, atol: 1e-5, "\(height)×\(width), groups \(groups) on \(path)")
        }
    }

    /// An infinite output gradient in the last column reaches only the taps whose input column
    /// exists there: taps (·, 2) read column w, outside the plane, so they stay finite (a zero pad
    /// multiplied in would make them NaN).
    @Test("3×3 same weight gradients: an infinite gradient at the edge leaves the out-of-plane taps finite", arguments: SIMDPath.supported)
    func threeByThreeWeightGradientEdge(_ path: SIMDPath) {
        var rng = RandomGenerator(seed: 29)
        for width in [5, 16, 40] {
            let x = Tensor.uniform([1, 1, 3, width], low: 0.5, high: 1, dtype: .float32, using: &rng)
            var g = Tensor.uniform([1, 1, 3, width], low: 0.5, high: 1, dtype: .float32, using: &rng).floats
            g[width - 1] = .infinity                          // row 0, last column
            let upstream = Tensor(shape: [1, 1, 3, width], scalars: g)
            let weight = Tensor.uniform([1, 1, 3, 3], low: -1, high: 1, dtype: .float32, using: &rng).requiringGrad()
            let taps = SIMDPath.withPath(path) {
                (Tensor.conv2d(x, weight: weight, padding: 1, groups: 1) * upstream).sum().gradients(wrt: [weight])[0]
            }.floats
            // Row 0 of g meets input rows 0 and 1 through kernel rows 1 and 2; column w − 1 meets
            // input columns w − 2 and w − 1 through kernel columns 0 and 1.
            for kh in 0..<3 {
                for kw in 0..<3 {
                    let tap = taps[kh * 3 + kw]
                    if kh >= 1 && kw <= 1 {
                        #expect(tap == .infinity, "tap (\(kh), \(kw)), width \(width) on \(path)")
                    } else {
                        #expect(tap.isFinite, "tap (\(kh), \(kw)), width \(width) on \(path)")
                    }
                }
            }
        }
    }
}
