import Testing
import SLKDTensor

/// The operand views of `matmul.json`, by variant name (the same as the generator's).
private func matmulOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    switch c.params["variant"]!.text {
    case "plain_2d", "row_vector", "column_result", "inner_one", "batched", "broadcast_batch",
         "broadcast_rank2_rhs", "broadcast_rank2_lhs":
        return { $0[0].matmul($0[1]) }
    case "a_transposed": return { $0[0].transposed().matmul($0[1]) }
    case "b_transposed": return { $0[0].matmul($0[1].transposed()) }
    case "both_transposed": return { $0[0].transposed().matmul($0[1].transposed()) }
    case "a_narrowed_cols": return { $0[0].narrowed(axis: 1, start: 1, length: 4).matmul($0[1]) }
    case "a_transposed_narrowed": return { $0[0].transposed().narrowed(axis: 0, start: 1, length: 3).matmul($0[1]) }
    case "a_strided_rows": return { $0[0].sliced(axis: 0, 0..<6, step: 2).matmul($0[1]) }
    case "a_strided_cols": return { $0[0].sliced(axis: 1, 0..<8, step: 2).matmul($0[1]) }
    case "batched_transposed": return { $0[0].transposed().matmul($0[1].transposed()) }
    case "batched_permuted": return { $0[0].permuted([1, 0, 2]).matmul($0[1]) }
    case "expanded_batch": return { $0[0].expanded(to: [3, 2, 4]).matmul($0[1]) }
    case let other: fatalError("unknown variant \(other)")
    }
}

@Suite("Matmul")
struct MatmulTests {
    static let cases = (try? loadReferenceCases("matmul")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, matmulOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-6, matmulOp(c))
    }

    @Test("pass float64 gradient checks", arguments: cases.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let op = matmulOp(c)
        let report = gradCheck([c.inputs["a"]!.tensor(), c.inputs["b"]!.tensor()]) { op($0) }
        #expect(report.passed, "\(report)")
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 18) }

    /// Zero-size operands have degenerate strides; an empty inner dimension gives zeros (as torch).
    @Test("empty operands")
    func emptyOperands() {
        let ones = { (s: [Int]) in Tensor.ones(s, dtype: .float64) }
        #expect(ones([2, 0]).matmul(ones([0, 3])).doubles == [Double](repeating: 0, count: 6))
        #expect(ones([0, 3]).matmul(ones([3, 2])).shape == [0, 2])
        #expect(ones([2, 3]).matmul(ones([3, 0])).shape == [2, 0])
        #expect(ones([4, 2, 0]).matmul(ones([4, 0, 3])).shape == [4, 2, 3])
    }

    /// Many batches run in parallel with single-threaded BLAS; one big product uses BLAS threads.
    @Test("batched and large products agree with a plain triple loop", arguments: [(64, 6, 7, 5), (1, 130, 170, 150)])
    func againstLoop(batches: Int, m: Int, k: Int, n: Int) {
        let av = (0..<(batches * m * k)).map { Double(($0 * 37) % 101) / 101 - 0.5 }
        let bv = (0..<(batches * k * n)).map { Double(($0 * 53) % 97) / 97 - 0.5 }
        let a = Tensor(shape: [batches, m, k], scalars: av), b = Tensor(shape: [batches, k, n], scalars: bv)
        let y = a.matmul(b).doubles
        var worst = 0.0
        for t in 0..<batches { for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += av[(t * m + i) * k + p] * bv[(t * k + p) * n + j] }
            worst = Swift.max(worst, Swift.abs(s - y[(t * m + i) * n + j]))
        } } }
        #expect(worst < 1e-10)
    }
}
