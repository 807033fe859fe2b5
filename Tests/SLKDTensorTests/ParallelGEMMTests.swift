import Testing
import SLKDTensor

/// Large products are split into column or row blocks over threads, or into slices of a long
/// reduction summed afterwards; each part must land where the unsplit product puts it, for every
/// transpose, leading dimension and ragged last part.
@Suite("Parallel GEMM")
struct ParallelGEMMTests {
    /// C = α·op(A)·op(B) + β·C by the definition, in Float64.
    static func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double, a: [Double], lda: Int,
                          b: [Double], ldb: Int, beta: Double, c: [Double], ldc: Int) -> [Double] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += av * bv
                }
                out[i * ldc + j] = alpha * sum + beta * c[i * ldc + j]
            }
        }
        return out
    }

    // Shapes above the split threshold (2^21 multiply–adds): wide C (columns split), tall C (rows
    // split), a reduction far longer than C's sides (k split, an odd k for a ragged slice), sides
    // that are not multiples of 16, and padded leading dimensions.
    @Test(arguments: [(37, 70001, 2), (3001, 45, 17), (129, 1025, 33), (17, 33, 40001), (40, 9, 70003)],
          [(false, false), (true, false), (false, true), (true, true)])
    func splitMatchesDefinition(shape: (Int, Int, Int), transposes: (Bool, Bool)) {
        let (m, n, k) = shape, (transA, transB) = transposes
        #expect(m * n * k >= ParallelGEMM.splitThreshold || k < 16)
        let pad = 3
        let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
        var generator = RandomGenerator(seed: 42)
        func values(_ count: Int) -> [Double] { (0..<count).map { _ in generator.nextUnit() * 2 - 1 } }
        let a = values((transA ? k : m) * lda), b = values((transB ? n : k) * ldb), c = values(m * ldc)
        let expected = Self.reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                                      b: b, ldb: ldb, beta: -1.5, c: c, ldc: ldc)
        var out = c
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    ParallelGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: pa.baseAddress!,
                                     lda: lda, b: pb.baseAddress!, ldb: ldb, beta: -1.5, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n { worst = max(worst, abs(out[i * ldc + j] - expected[i * ldc + j])) }
            // The padding between rows of C is never written.
            for j in n..<ldc { #expect(out[i * ldc + j] == c[i * ldc + j]) }
        }
        #expect(worst < 1e-10)
    }
}
