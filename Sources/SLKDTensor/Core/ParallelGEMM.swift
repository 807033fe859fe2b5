import CSLKDOpenBLAS

/// Every matrix product of SLKD: single-threaded OpenBLAS calls, split across ``Parallel``'s
/// threads when a product is large and no parallel region is running.
///
/// Why not OpenBLAS's own pool: after each threaded call its workers spin in `sched_yield` for
/// about 0.1 s waiting for the next one, and SLKD's own kernels (depthwise convolutions,
/// normalisation, GELU), which run between products, then share the cores with them. On a
/// 2-core machine, one batch-2 SLKD step spent a fifth of its CPU samples in that spin (system
/// time 18 s → 6 s and the step 20 % faster without it). Splitting C into column (or row)
/// blocks and calling serial `sgemm` per block keeps one pool — ours — and costs only a second
/// packing of the shared operand.
@usableFromInline
package enum ParallelGEMM {
    /// Products with fewer multiply–adds run as one call (splitting would cost more than it gains).
    @usableFromInline package static let splitThreshold = 1 << 21

    /// The rows and columns of one block of C, as ``run`` hands it to its `prepare` and `finish`.
    @usableFromInline package typealias Block = (rows: Range<Int>, columns: Range<Int>)

    /// C = α·op(A)·op(B) + β·C, row-major; `op` transposes when `transA`/`transB`.
    ///
    /// `prepare` and `finish` run on each block of C that one call computes, on the thread that
    /// computes it, just before and just after its product: `prepare` writes the values the
    /// product is added to (a bias, a residual; pass β = 1 then), `finish` works on the result (an
    /// activation). Why here rather than in passes of their own: each pass was a parallel region of
    /// its own, a fork and a join around the product's, and a Uformer-B forward opened about 690
    /// regions, with 5–6 % of its time in the gaps between them (Docs/Benchmarks.md). Blocks are
    /// disjoint and cover C once. A product split along its reduction (``splitReduction``) runs
    /// `prepare` on all of C before and `finish` after.
    @inlinable
    package static func run<T: TensorScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T = 1,
                                     a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                     beta: T, c: UnsafeMutablePointer<T>, ldc: Int,
                                     prepare: ((Block) -> Void)? = nil, finish: ((Block) -> Void)? = nil) {
        guard m > 0, n > 0 else { return }
        ProductRecorder.record(transA: transA, transB: transB, m: m, n: n, k: k, overwrites: beta == 0,
                               elementSize: MemoryLayout<T>.size)
        BLASThreads.makeSerialOnce()
        let threads = Parallel.threadCount
        guard threads > 1, m * n * Swift.max(k, 1) >= splitThreshold, !Parallel.isInsideRegion else {
            prepare?((0..<m, 0..<n))
            call(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                 beta: beta, c: c, ldc: ldc)
            finish?((0..<m, 0..<n))
            return
        }
        if k >= reductionSplitRatio * Swift.max(m, n) {
            let grain = Swift.max(1, 4096 / n)
            if let prepare { Parallel.forChunks(m, grain: grain) { rows in prepare((rows, 0..<n)) } }
            splitReduction(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                           ldb: ldb, beta: beta, c: c, ldc: ldc, parts: threads)
            if let finish { Parallel.forChunks(m, grain: grain) { rows in finish((rows, 0..<n)) } }
            return
        }
        // Split the longer side of C in blocks that are multiples of 16 (whole SIMD tiles).
        let splitColumns = n >= m
        let side = splitColumns ? n : m
        let block = Swift.max(16, (side + threads - 1) / threads + 15) / 16 * 16
        let blocks = (side + block - 1) / block
        let (pa, pb, pc) = (UncheckedSendable(a), UncheckedSendable(b), UncheckedSendable(c))
        BLASThreads.withSingleThread {
            Parallel.forChunks(blocks) { range in
                for index in range {
                    let start = index * block, count = Swift.min(block, side - start)
                    let part: Block = splitColumns ? (0..<m, start..<(start + count)) : (start..<(start + count), 0..<n)
                    prepare?(part)
                    if splitColumns {
                        // Columns start…: B's columns (rows when transposed) and C's columns.
                        call(transA: transA, transB: transB, m: m, n: count, k: k, alpha: alpha, a: pa.value, lda: lda,
                             b: pb.value + (transB ? start * ldb : start), ldb: ldb, beta: beta, c: pc.value + start, ldc: ldc)
                    } else {
                        // Rows start…: A's rows (columns when transposed) and C's rows.
                        call(transA: transA, transB: transB, m: count, n: n, k: k, alpha: alpha,
                             a: pa.value + (transA ? start : start * lda), lda: lda, b: pb.value, ldb: ldb, beta: beta,
                             c: pc.value + start * ldc, ldc: ldc)
                    }
                    finish?(part)
                }
            }
        }
    }

    /// Products whose reduction is at least this many times longer than C's longer side are split
    /// along it (see ``splitReduction``).
    @usableFromInline package static let reductionSplitRatio = 8

    /// C = α·op(A)·op(B) + β·C with the reduction (k) cut into one slice per thread, the slices'
    /// products summed into C afterwards.
    ///
    /// Why: a weight gradient Σ_tokens g·xᵀ has a small C and a reduction over every token. Split
    /// by C's rows or columns, each thread packs all of one operand (all tokens of x, say), so the
    /// two threads pack it twice; split along k, each packs half of both. The extra pass over the
    /// small C costs far less. The slices are fixed by the thread count, so a run is reproducible.
    @usableFromInline
    static func splitReduction<T: TensorScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                                                a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                                beta: T, c: UnsafeMutablePointer<T>, ldc: Int, parts: Int) {
        let slice = (k + parts - 1) / parts
        let (pa, pb, pc) = (UncheckedSendable(a), UncheckedSendable(b), UncheckedSendable(c))
        // Slice 0 goes into C with the caller's β; slice p > 0 into its own m×n partial.
        TensorMemoryCache.withScratch(T.self, count: (parts - 1) * m * n) { scratch in
            let partials = UncheckedSendable(scratch)
            BLASThreads.withSingleThread {
                Parallel.forChunks(parts) { range in
                    for part in range {
                        let start = part * slice, count = Swift.min(slice, k - start)
                        let (destination, ldd) = part == 0 ? (pc.value, ldc) : (partials.value + (part - 1) * m * n, n)
                        guard count > 0 else {
                            if part > 0 { destination.update(repeating: 0, count: m * n) }
                            continue
                        }
                        // A's columns start… (rows when transposed); B's rows start… (columns when transposed).
                        call(transA: transA, transB: transB, m: m, n: n, k: count, alpha: alpha,
                             a: pa.value + (transA ? start * lda : start), lda: lda,
                             b: pb.value + (transB ? start : start * ldb), ldb: ldb,
                             beta: part == 0 ? beta : 0, c: destination, ldc: ldd)
                    }
                }
                Parallel.forChunks(m, grain: Swift.max(1, 4096 / n)) { rows in
                    for row in rows {
                        let target = pc.value + row * ldc
                        for part in 1..<parts {
                            let partial = partials.value + (part - 1) * m * n + row * n
                            for j in 0..<n { target[j] += partial[j] }
                        }
                    }
                }
            }
        }
    }

    @inlinable
    static func call<T: TensorScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                                      a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                      beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        // For β = 0 OpenBLAS first zeroes C with its own loop, which on its Haswell/Zen kernels
        // stores one float at a time: up to 7 % of a Restormer forward on Zen 3. A memset of the
        // same rows is vector-wide, and with β = 1 OpenBLAS skips its pass; the result is the same
        // (C is not read either way, so NaN there is still ignored).
        var beta = beta
        if beta == 0 && m > 0 && n > 0 {
            if ldc == n {
                c.update(repeating: 0, count: m * n)
            } else {
                for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) }
            }
            beta = 1
        }
        if T.self == Float.self {
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), Float(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), Int32(ldb), Float(beta),
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(ldc))
        } else {
            cblas_dgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), Double(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), Int32(ldb), Double(beta),
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), Int32(ldc))
        }
    }
}
