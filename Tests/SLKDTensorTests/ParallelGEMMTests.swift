import Foundation
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

    /// `prepare` and `finish` (the hooks a channel Linear uses for its bias, residual and GELU) must
    /// each see every element of C exactly once, `prepare` before its block's product and `finish`
    /// after it: `prepare` writes 1 into its block, the product with β = 1 is added to it, and
    /// `finish` copies what it finds. Shapes: columns split, rows split, a split reduction (hooks
    /// around the whole product) and one too small to split.
    @Test(arguments: [(37, 70001, 2), (3001, 45, 17), (17, 33, 40001), (8, 8, 8)])
    func hooksCoverEachBlockOnceAroundItsProduct(shape: (Int, Int, Int)) {
        let (m, n, k) = shape, ldc = n + 2
        var generator = RandomGenerator(seed: 43)
        func values(_ count: Int) -> [Double] { (0..<count).map { _ in generator.nextUnit() * 2 - 1 } }
        let a = values(m * k), b = values(k * n)
        let expected = Self.reference(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b,
                                      ldb: n, beta: 1, c: [Double](repeating: 1, count: m * ldc), ldc: ldc)
        var out = [Double](repeating: .nan, count: m * ldc), seen = [Double](repeating: .nan, count: m * ldc)
        var prepared = [Int](repeating: 0, count: m * ldc), finished = [Int](repeating: 0, count: m * ldc)
        let lock = NSLock()
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    seen.withUnsafeMutableBufferPointer { ps in
                        let (c, copy) = (UncheckedSendable(pc.baseAddress!), UncheckedSendable(ps.baseAddress!))
                        ParallelGEMM.run(transA: false, transB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
                                         b: pb.baseAddress!, ldb: n, beta: 1, c: c.value, ldc: ldc, prepare: { block in
                            lock.withLock { for i in block.rows { for j in block.columns { prepared[i * ldc + j] += 1 } } }
                            for i in block.rows { for j in block.columns { c.value[i * ldc + j] = 1 } }
                        }, finish: { block in
                            lock.withLock { for i in block.rows { for j in block.columns { finished[i * ldc + j] += 1 } } }
                            for i in block.rows { for j in block.columns { copy.value[i * ldc + j] = c.value[i * ldc + j] } }
                        })
                    }
                }
            }
        }
        var worst = 0.0, wrongCounts = 0
        for i in 0..<m {
            for j in 0..<n {
                worst = max(worst, abs(out[i * ldc + j] - expected[i * ldc + j]))
                if seen[i * ldc + j] != out[i * ldc + j] || prepared[i * ldc + j] != 1 || finished[i * ldc + j] != 1 {
                    wrongCounts += 1
                }
            }
            // The padding between rows of C is never handed to a hook.
            for j in n..<ldc { #expect(prepared[i * ldc + j] == 0 && finished[i * ldc + j] == 0 && out[i * ldc + j].isNaN) }
        }
        #expect(worst < 1e-10, "\(shape)")
        #expect(wrongCounts == 0, "\(shape): \(wrongCounts) elements not prepared and finished once around their product")
    }
}
