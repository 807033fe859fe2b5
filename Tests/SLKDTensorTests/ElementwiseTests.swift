import Testing
import SLKDTensor

/// The ops of `elementwise.json`, by the op name the generator wrote.
private func elementwiseOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    switch c.op {
    case "add": { $0[0] + $0[1] }
    case "sub": { $0[0] - $0[1] }
    case "mul": { $0[0] * $0[1] }
    case "div": { $0[0] / $0[1] }
    case "pow": { Tensor.pow($0[0], $0[1]) }
    case "pow_scalar": { $0[0].pow(c.params["p"]!.number) }
    case "maximum": { Tensor.maximum($0[0], $0[1]) }
    case "minimum": { Tensor.minimum($0[0], $0[1]) }
    case "where": { Tensor.where($0[0] > 0, $0[1], $0[2]) }
    case "clamp": { $0[0].clamp(min: c.params["lo"]!.number, max: c.params["hi"]!.number) }
    case "exp": { $0[0].exp() }
    case "log": { $0[0].log() }
    case "sqrt": { $0[0].sqrt() }
    case "rsqrt": { $0[0].rsqrt() }
    case "abs": { $0[0].abs() }
    case "sign": { $0[0].sign() }
    case "neg": { -$0[0] }
    case "erf": { $0[0].erf() }
    case "lgamma": { $0[0].lgamma() }
    case "digamma": { $0[0].digamma() }
    case "tanh": { $0[0].tanh() }
    case "sigmoid": { $0[0].sigmoid() }
    case "square": { $0[0].squared() }
    default: fatalError("unknown op \(c.op)")
    }
}

@Suite("Element-wise ops")
struct ElementwiseTests {
    static let cases = (try? loadReferenceCases("elementwise")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, elementwiseOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-6, elementwiseOp(c))
    }

    @Test("pass float64 gradient checks", arguments: cases.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        // Non-differentiable points (sign, the where-condition) are checked on inputs away from them.
        let report = gradCheckDifferentiableInputs(c, elementwiseOp(c))
        #expect(report.passed, "\(report)")
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 25) }

    /// A broadcast against a scalar merges into one run, which the kernels cut into pieces for
    /// the threads (200 003 elements: not a multiple of the piece). Every element must be the
    /// scalar rule's: x·0.5, 2 − x (the scalar first), x + y with y read through a stride, and
    /// `where` against a scalar, in both dtypes.
    @Test(arguments: [DType.float32, .float64])
    func broadcastsOverOneLongRunInPieces(_ dtype: DType) {
        let n = 200_003
        let xs = (0..<n).map { Double($0 % 1000) / 64 - 7 }
        let x = Tensor(shape: [1, n], scalars: xs).cast(to: dtype)
        let wide = Tensor(shape: [n, 2], scalars: xs.flatMap { [$0 * 3, -1] }).cast(to: dtype)
        let strided = wide.transposed().narrowed(axis: 0, start: 0, length: 1)          // [1, n], stride 2
        #expect((x * 0.5).cast(to: .float64).doubles == xs.map { $0 * 0.5 })
        #expect((2.0 - x).cast(to: .float64).doubles == xs.map { 2 - $0 })
        #expect((x + strided).cast(to: .float64).doubles == xs.map { $0 + $0 * 3 })
        let chosen = Tensor.where(x > 0, x, Tensor(scalar: -1, dtype: dtype))
        #expect(chosen.cast(to: .float64).doubles == xs.map { $0 > 0 ? $0 : -1 })
    }
}
