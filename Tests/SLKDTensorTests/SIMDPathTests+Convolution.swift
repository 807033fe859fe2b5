import Testing
import SLKDTensor
import SLKDTestSupport

/// The float32 direct convolution runs its rows in the C target's `slkd_conv_row_f32`, compiled
/// per instruction set with 32-column (baseline, AVX2) or 64-column (AVX-512) blocks, and the
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

    /// DRSformer's shapes at widths that use both block sizes and the 8-column tail (75 = 64 + 8 +
    /// 3 padding columns; 40 = 32 + 8): 5×5 depthwise, 3×3 with two channels per group, and a
    /// dilated 3×3; and Restormer's "same" depthwise 3×3, whose planes have vector and edge columns. Compared with the Float64 convolution (a separate generic kernel) and, bit for
    /// bit, with the baseline path.
    @Test("direct convolutions of wide rows: the baseline's bits on every path, and the Float64 result", arguments: SIMDPath.supported)
    func directConvWideRows(_ path: SIMDPath) {
        struct Shape { let channels, groups, kernel, padding, dilation, width: Int }
        let shapes = [Shape(channels: 6, groups: 6, kernel: 5, padding: 2, dilation: 1, width: 75),
                      Shape(channels: 6, groups: 6, kernel: 3, padding: 1, dilation: 1, width: 75),
                      Shape(channels: 6, groups: 3, kernel: 3, padding: 1, dilation: 1, width: 40),
                      Shape(channels: 4, groups: 4, kernel: 3, padding: 2, dilation: 2, width: 75)]
        var rng = RandomGenerator(seed: 11)
        for s in shapes {
            let x = Tensor.uniform([2, s.channels, 9, s.width], low: -1, high: 1, dtype: .float32, using: &rng)
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
}
