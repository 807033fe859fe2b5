import Testing
import SLKDTensor

/// Uformer's channel-major Linear and 1×1 convolutions run on SLKD's own AVX-512 kernel
/// (`slkd_linear_columns_f32_avx512`) on that path for at least 64 tokens and at most 512 input
/// channels, and on OpenBLAS otherwise. Part of the serialized "SIMD paths" suite.
extension SIMDPathTests {
    struct LinearShape: Sendable, CustomTestStringConvertible {
        var batch, inputs, outputs, tokens: Int
        var bias, residual, gelu: Bool
        var testDescription: String {
            "\(batch)×\(inputs)→\(outputs)×\(tokens)\(bias ? " bias" : "")\(residual ? " residual" : "")\(gelu ? " GELU" : "")"
        }
    }

    /// Rows that are not a multiple of the tile's 8, tokens that are not a multiple of 32 (masked
    /// tiles) and thread blocks that are, reductions of one, of a block (256) and past it.
    static let linearShapes: [LinearShape] = [
        LinearShape(batch: 2, inputs: 16, outputs: 20, tokens: 100, bias: true, residual: false, gelu: true),
        LinearShape(batch: 1, inputs: 300, outputs: 13, tokens: 97, bias: true, residual: true, gelu: false),
        LinearShape(batch: 3, inputs: 1, outputs: 8, tokens: 64, bias: false, residual: false, gelu: false),
        LinearShape(batch: 1, inputs: 256, outputs: 40, tokens: 130, bias: false, residual: true, gelu: false),
        LinearShape(batch: 2, inputs: 64, outputs: 33, tokens: 288, bias: true, residual: false, gelu: true),
    ]

    /// On every path, with and without a graph (without one GELU is applied as tiles are stored;
    /// with one the pre-activation is kept): the Float result within 10⁻⁵ of the Float64 one,
    /// relative to the largest |value|, and the input, weight, bias and residual gradients too.
    @Test("the channel Linear on its own AVX-512 kernel and on OpenBLAS matches Float64", arguments: linearShapes)
    func channelLinearOwnKernel(_ shape: LinearShape) {
        var generator = RandomGenerator(seed: 77)
        let (b, i, o, l) = (shape.batch, shape.inputs, shape.outputs, shape.tokens)
        let x = Tensor.uniform([b, i, l], low: -1, high: 1, dtype: .float64, using: &generator)
        let w = Tensor.uniform([o, i], low: -1, high: 1, dtype: .float64, using: &generator) * (1 / Double(i).squareRoot())
        let bias = shape.bias ? Tensor.uniform([o], low: -1, high: 1, dtype: .float64, using: &generator) : nil
        let residual = shape.residual ? Tensor.uniform([b, o, l], low: -1, high: 1, dtype: .float64, using: &generator) : nil
        let upstream = Tensor.uniform([b, o, l], low: -1, high: 1, dtype: .float64, using: &generator)
        func run(_ dtype: DType, graph: Bool) -> [Tensor] {
            let leaves = ([x, w] + [bias, residual].compactMap { $0 }).map { $0.cast(to: dtype).requiringGrad() }
            var k = 2
            let pb = shape.bias ? leaves[k] : nil
            if shape.bias { k += 1 }
            let pr = shape.residual ? leaves[k] : nil
            guard graph else {
                return [withoutGradients {
                    Tensor.uformerChannelLinear(leaves[0], weight: leaves[1], bias: pb, gelu: shape.gelu, residual: pr)
                }]
            }
            let y = Tensor.uformerChannelLinear(leaves[0], weight: leaves[1], bias: pb, gelu: shape.gelu, residual: pr)
            return [y.detached()] + (y * upstream.cast(to: dtype)).sum().gradients(wrt: leaves)
        }
        let exact = run(.float64, graph: true)
        for path in SIMDPath.supported {
            for graph in [false, true] {
                let got = SIMDPath.withPath(path) { run(.float32, graph: graph) }
                for (k, (g, e)) in zip(got, exact).enumerated() {
                    let scale = Swift.max(1, e.doubles.map(Swift.abs).max() ?? 1)
                    expectClose(g.cast(to: .float64), e, rtol: 1e-5, atol: 1e-5 * scale,
                                "\(shape.testDescription) on \(path)\(graph ? " with a graph" : ""), tensor \(k)")
                }
            }
        }
    }

    /// 1×1 convolutions (Restormer's and DRSformer's projections) of 9×11 = 99 pixels, the two
    /// gradient-carrying shapes of the forward and the input gradient, with and without bias and
    /// a second image: on every path within 10⁻⁵ of Float64, outputs and all gradients.
    @Test("1×1 convolutions on the own AVX-512 kernel and on OpenBLAS match Float64",
          arguments: [(2, 20, 12, true), (1, 300, 17, false), (1, 8, 520, true)])
    func pointwiseConvolutionOwnKernel(_ shape: (Int, Int, Int, Bool)) {
        let (batch, inputs, outputs, withBias) = shape
        var generator = RandomGenerator(seed: 78)
        let x = Tensor.uniform([batch, inputs, 9, 11], low: -1, high: 1, dtype: .float64, using: &generator)
        let w = Tensor.uniform([outputs, inputs, 1, 1], low: -1, high: 1, dtype: .float64, using: &generator)
            * (1 / Double(inputs).squareRoot())
        let bias = withBias ? Tensor.uniform([outputs], low: -1, high: 1, dtype: .float64, using: &generator) : nil
        let upstream = Tensor.uniform([batch, outputs, 9, 11], low: -1, high: 1, dtype: .float64, using: &generator)
        func run(_ dtype: DType) -> [Tensor] {
            let leaves = ([x, w] + [bias].compactMap { $0 }).map { $0.cast(to: dtype).requiringGrad() }
            let y = Tensor.conv2d(leaves[0], weight: leaves[1], bias: withBias ? leaves[2] : nil)
            return [y.detached()] + (y * upstream.cast(to: dtype)).sum().gradients(wrt: leaves)
        }
        let exact = run(.float64)
        for path in SIMDPath.supported {
            let got = SIMDPath.withPath(path) { run(.float32) }
            for (k, (g, e)) in zip(got, exact).enumerated() {
                let scale = Swift.max(1, e.doubles.map(Swift.abs).max() ?? 1)
                expectClose(g.cast(to: .float64), e, rtol: 1e-5, atol: 1e-5 * scale,
                            "1×1 conv \(shape) on \(path), tensor \(k)")
            }
        }
    }

    /// On OpenBLAS (more than 512 input channels, so on every path) a product large enough to be
    /// split over threads gets its bias, residual and GELU inside its own region, block by block
    /// (`ParallelGEMM`'s hooks). The result must be the pass-by-pass one bit for bit: the output
    /// filled with residual + bias, the same split product added with β = 1, then GELU. Shapes:
    /// columns split (tokens ≥ outputs) and rows split, two images, with and without a graph.
    @Test("the channel Linear's bias, residual and GELU inside the split product equal the passes bit for bit",
          arguments: [LinearShape(batch: 2, inputs: 520, outputs: 24, tokens: 272, bias: true, residual: false, gelu: true),
                      LinearShape(batch: 2, inputs: 600, outputs: 300, tokens: 40, bias: true, residual: true, gelu: false),
                      LinearShape(batch: 1, inputs: 530, outputs: 40, tokens: 200, bias: false, residual: false, gelu: true)])
    func channelLinearHooksEqualPasses(_ shape: LinearShape) {
        var generator = RandomGenerator(seed: 79)
        let (b, i, o, l) = (shape.batch, shape.inputs, shape.outputs, shape.tokens)
        #expect(o * l * i >= ParallelGEMM.splitThreshold && i > 512)
        let x = Tensor.uniform([b, i, l], low: -1, high: 1, dtype: .float32, using: &generator)
        let w = Tensor.uniform([o, i], low: -1, high: 1, dtype: .float32, using: &generator) * (1 / Double(i).squareRoot())
        let bias = shape.bias ? Tensor.uniform([o], low: -1, high: 1, dtype: .float32, using: &generator) : nil
        let residual = shape.residual ? Tensor.uniform([b, o, l], low: -1, high: 1, dtype: .float32, using: &generator) : nil
        // The passes: residual + bias (or bias, or zeros), the product added per image, then GELU.
        let (xs, ws, bs, rs) = (x.floats, w.floats, bias?.floats, residual?.floats)
        var z = [Float](repeating: 0, count: b * o * l)
        for n in 0..<b {
            for r in 0..<o {
                for t in 0..<l {
                    let index = (n * o + r) * l + t
                    z[index] = rs.map { $0[index] + (bs?[r] ?? 0) } ?? (bs?[r] ?? 0)
                }
            }
        }
        xs.withUnsafeBufferPointer { px in
            ws.withUnsafeBufferPointer { pw in
                z.withUnsafeMutableBufferPointer { pz in
                    for n in 0..<b {
                        ParallelGEMM.run(transA: false, transB: false, m: o, n: l, k: i, a: pw.baseAddress!, lda: i,
                                         b: px.baseAddress! + n * i * l, ldb: l, beta: bs == nil && rs == nil ? 0 : 1,
                                         c: pz.baseAddress! + n * o * l, ldc: l)
                    }
                }
            }
        }
        let passes = shape.gelu ? Tensor(shape: [b, o, l], scalars: z).gelu().floats : z
        for graph in [false, true] {
            let leaf = x.requiringGrad()
            let y = graph
                ? Tensor.uformerChannelLinear(leaf, weight: w, bias: bias, gelu: shape.gelu, residual: residual)
                : withoutGradients { Tensor.uformerChannelLinear(leaf, weight: w, bias: bias, gelu: shape.gelu, residual: residual) }
            let differ = zip(y.floats, passes).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differ == 0, "\(shape.testDescription)\(graph ? " with a graph" : ""): \(differ) of \(passes.count) differ")
        }
    }
}
