import Testing
import SLKDTensor

/// Restormer's fused MDTA core against `restormer_fused.json` (Scripts/torchref/restormer_fused.py).
@Suite("Restormer fused MDTA core")
struct RestormerFusedTests {
    static let cases = (try? loadReferenceCases("restormer_fused")) ?? []

    static func op(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
        let heads = c.params["heads"]!.int
        return { t in Tensor.restormerTransposedAttention(t[0], heads: heads, temperature: t[1]) }
    }

    @Test func vectorsLoad() { #expect(Self.cases.count == 2) }

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, Self.op(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5, Self.op(c))
    }

    @Test("match PyTorch without a graph", arguments: cases.map(\.name))
    func matchesPyTorchWithoutGraph(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let y = withoutGradients { Self.op(c)(c.orderedInputs()) }
        expectClose(y, c.output.tensor(.float64), rtol: 1e-10, atol: 1e-12, "\(c.name) output without graph")
    }

    @Test("pass float64 gradient checks", arguments: cases.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let report = gradCheck(c.orderedInputs(), Self.op(c))
        #expect(report.passed, "\(report)")
    }

    /// More heads and images than threads: the blocks run in parallel with serial products, and
    /// must give what one block at a time gives (one image and one head per call).
    @Test func parallelBlocksMatchOneBlockAtATime() {
        var generator = RandomGenerator(seed: 7)
        let (b, heads, c, h, w) = (3, 4, 2, 3, 5)
        let qkv = Tensor.uniform([b, 3 * heads * c, h, w], low: -1, high: 1, dtype: .float64, using: &generator)
        let temperature = Tensor.uniform([heads, 1, 1], low: 0.5, high: 2, dtype: .float64, using: &generator)
        let all = Tensor.restormerTransposedAttention(qkv, heads: heads, temperature: temperature)
        for image in 0..<b {
            let x = qkv.narrowed(axis: 0, start: image, length: 1)
            for head in 0..<heads {
                let parts = (0..<3).map { x.narrowed(axis: 1, start: $0 * heads * c + head * c, length: c) }
                let one = Tensor.restormerTransposedAttention(Tensor.concatenated(parts, axis: 1), heads: 1,
                                                              temperature: temperature.narrowed(axis: 0, start: head, length: 1))
                expectClose(all.narrowed(axis: 0, start: image, length: 1).narrowed(axis: 1, start: head * c, length: c), one,
                            rtol: 1e-12, atol: 1e-14, "image \(image) head \(head)")
            }
        }
    }
}
