extension Tensor {
    /// Matrix product over the last two axes, with NumPy broadcasting of leading (batch) axes:
    /// `[…, M, K] · […, K, N] → […, M, N]`.
    ///
    /// Runs on OpenBLAS `sgemm`/`dgemm`. A transposed view is passed to BLAS as a transpose flag,
    /// not copied. Many small products (attention heads) run in parallel with single-threaded
    /// BLAS; one large product uses OpenBLAS's own threads.
    public static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2 operands, got \(a.shape) and \(b.shape)")
        precondition(a.shape[a.rank - 1] == b.shape[b.rank - 2],
                     "matmul: inner dimensions differ in \(a.shape) · \(b.shape)")
        MACCounter.record(.matmul, MACCounter.matmulMACs(a.shape, b.shape))
        return uncountedMatmul(a, b)
    }

    /// ``matmul(_:_:)`` without MAC counting, for ops that count themselves (``linear(weight:bias:)``).
    static func uncountedMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let y = GEMM.product(a, b)
        let (sa, sb) = (a.detached(), b.detached())
        let needA = a.requiresGrad, needB = b.requiresGrad
        return Autograd.record(y, inputs: [a, b]) { g in
            [needA ? GEMM.product(g, sb.transposed()) : nil, needB ? GEMM.product(sa.transposed(), g) : nil]
        }
    }

    /// `self · other` over the last two axes; see ``matmul(_:_:)``.
    public func matmul(_ other: Tensor) -> Tensor { Tensor.matmul(self, other) }
}

/// The BLAS calls behind `matmul`, outside autograd.
enum GEMM {
    /// How a matrix view is handed to BLAS: its transpose flag and leading dimension, if its
    /// strides allow it without a copy.
    static func blasLayout(rows: Int, cols: Int, rowStride: Int, colStride: Int) -> (transpose: Bool, ld: Int)? {
        // An empty matrix has degenerate strides (0 on the axis before a zero-size one) and no elements to read.
        if rows == 0 || cols == 0 { return (false, Swift.max(cols, 1)) }
        if colStride == 1 && rowStride >= Swift.max(cols, 1) { return (false, rowStride) }
        if rowStride == 1 && colStride >= Swift.max(rows, 1) { return (true, colStride) }
        if rows == 1 && colStride == 1 { return (false, Swift.max(cols, 1)) }
        if cols == 1 && rowStride == 1 { return (true, Swift.max(rows, 1)) }
        return nil
    }

    /// Makes the last two axes BLAS-compatible, copying only when needed.
    static func blasReady(_ t: Tensor) -> Tensor {
        let r = t.rank
        let ok = blasLayout(rows: t.shape[r - 2], cols: t.shape[r - 1], rowStride: t.strides[r - 2],
                            colStride: t.strides[r - 1]) != nil
        return ok ? t : t.materialize()
    }

    static func product(_ a0: Tensor, _ b0: Tensor) -> Tensor {
        precondition(a0.dtype == b0.dtype && a0.dtype.isFloatingPoint, "matmul needs two float tensors of one dtype")
        let a = blasReady(a0), b = blasReady(b0)
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        guard let batchShape = Shape.broadcast(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))) else {
            preconditionFailure("matmul: batch shapes of \(a0.shape) and \(b0.shape) do not broadcast")
        }
        let outShape = batchShape + [m, n]
        let batches = Shape.count(batchShape)
        let aBatch = Array(a.broadcastStrides(to: batchShape + [m, k]).dropLast(2))
        let bBatch = Array(b.broadcastStrides(to: batchShape + [k, n]).dropLast(2))
        let batchIndex = Shape.contiguousStrides(batchShape)
        func offsets(_ index: Int) -> (Int, Int) {
            var rest = index, oa = 0, ob = 0
            for axis in 0..<batchShape.count {
                let i = rest / batchIndex[axis]
                rest %= batchIndex[axis]
                oa += i * aBatch[axis]
                ob += i * bBatch[axis]
            }
            return (oa, ob)
        }
        let la = blasLayout(rows: m, cols: k, rowStride: a.strides[a.rank - 2], colStride: a.strides[a.rank - 1])!
        let lb = blasLayout(rows: k, cols: n, rowStride: b.strides[b.rank - 2], colStride: b.strides[b.rank - 1])!

        func run<T: TensorScalar>(_: T.Type) -> Tensor {
            let pa = UnsafePointer(a.basePointer(T.self)), pb = UnsafePointer(b.basePointer(T.self))
            return Tensor.make(outShape, T.self, dtype: a.dtype) { out in
                let pc = out.baseAddress!
                if k == 0 {
                    UnsafeMutableRawPointer(pc).initializeMemory(as: UInt8.self, repeating: 0, count: out.count * MemoryLayout<T>.stride)
                    return
                }
                let body = { (i: Int) in
                    let (oa, ob) = offsets(i)
                    ParallelGEMM.run(transA: la.transpose, transB: lb.transpose, m: m, n: n, k: k, a: pa + oa, lda: la.ld,
                                     b: pb + ob, ldb: lb.ld, beta: 0, c: pc + i * m * n, ldc: Swift.max(n, 1))
                }
                // Batches in parallel, one serial product each, when they are small, or when
                // each output is a small tile and the batches split evenly over the threads:
                // splitting one product's M×N cannot use attention's 48×48 scores over
                // K = 16384 well (34 → 26 ms for [8,48,16384]·[8,16384,48] on 2 cores). Large
                // outputs are split one product at a time ([8,48,48]·[8,48,16384] is 2.5×
                // slower batch-parallel).
                let threads = Parallel.threadCount
                let smallTile = m * n <= 128 * 128 && batches % threads == 0
                if batches > 1 && (m * n * k < 1 << 22 || smallTile) {
                    Parallel.forEachWithSerialBLAS(batches, body)
                } else {
                    for i in 0..<batches { body(i) }
                }
            }
        }
        return a.dtype.withFloatType("matmul") { run($0) }
    }
}
