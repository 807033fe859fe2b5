import RealModule

// The core of Restormer's MDTA (`restormer_arch.py`, `Attention.forward` between `qkv_dwconv` and
// `project_out`; Zamir et al. 2022, §3.1): per head, q and k L2-normalised over the pixels,
// A = softmax(q̂·k̂ᵀ·temperature) over c×c channels, out = A·v.
//
// Unfused, `F.normalize` writes normalised copies of q and k (2C·H·W values) that the product
// then reads, and its backward makes two more passes. The normalisation only scales rows, so
// q̂·k̂ᵀ = diag(1/‖q‖)·(q·kᵀ)·diag(1/‖k‖): this kernel reads the norms once and scales the c×c
// product instead. Backward likewise: with G the gradient of q̂·k̂ᵀ, Ŝ = q̂·k̂ᵀ and
// M = diag(1/‖q‖)·G·diag(1/‖k‖),
//     ∂q = M·k − diag(Σ_j G_ij Ŝ_ij / ‖q_i‖²)·q,   ∂k = Mᵀ·q − diag(Σ_i G_ij Ŝ_ij / ‖k_j‖²)·k,
// one row scaling and one β = 1 GEMM each, on the raw q and k.

extension Tensor {
    /// MDTA's attention on the depthwise-convolved projections: `qkv` [B, 3C, H, W] holds q, k, v
    /// as its three channel thirds (`qkv.chunk(3, dim=1)`), each split into `heads` heads of
    /// c = C/heads channels; `temperature` is [heads, 1, 1].
    ///
    /// - Returns: [B, C, H, W], `softmax(normalize(q)·normalize(k)ᵀ·temperature)·v` per head with
    ///   the heads in channel order, and gradients for `qkv` and `temperature`.
    public static func restormerTransposedAttention(_ qkv: Tensor, heads: Int, temperature: Tensor) -> Tensor {
        precondition(qkv.rank == 4 && heads > 0 && qkv.shape[1] % (3 * heads) == 0 && temperature.shape == [heads, 1, 1]
                     && temperature.dtype == qkv.dtype,
                     "restormerTransposedAttention needs qkv [B, 3C, H, W] with C divisible by \(heads) heads and temperature [heads, 1, 1] of one dtype, got \(qkv.dtype)\(qkv.shape), \(temperature.dtype)\(temperature.shape)")
        let (b, h, w) = (qkv.shape[0], qkv.shape[2], qkv.shape[3])
        let geometry = MDTAKernel.Geometry(batch: b, channels: qkv.shape[1] / 3, pixels: h * w, heads: heads)
        let c = geometry.headChannels
        // Counted as the two batched products of the unfused graph.
        MACCounter.record(.matmul, MACCounter.matmulMACs([b, heads, c, h * w], [b, heads, h * w, c]))
        MACCounter.record(.matmul, MACCounter.matmulMACs([b, heads, c, c], [b, heads, c, h * w]))
        let x = qkv.contiguous().detached(), t = temperature.contiguous().detached()
        let recording = GradMode.isEnabled && (qkv.requiresGrad || temperature.requiresGrad)
        let (y, saved) = x.dtype.withFloatType("restormerTransposedAttention") {
            MDTAKernel.forward($0, geometry, x, t, keepState: recording)
        }
        let needQKV = qkv.requiresGrad, needTemperature = temperature.requiresGrad
        return Autograd.record(y.reshaped([b, geometry.channels, h, w]), inputs: [qkv, temperature]) { g in
            let grads = g.dtype.withFloatType("restormerTransposedAttention backward") {
                MDTAKernel.backward($0, geometry, g.contiguous(), x, t, saved!)
            }
            return [needQKV ? grads.0.reshaped(qkv.shape) : nil, needTemperature ? grads.1 : nil]
        }
    }
}

enum MDTAKernel {
    /// `F.normalize`'s eps: rows with a smaller norm are divided by it instead.
    static let eps = 1e-12

    struct Geometry {
        let batch, channels, pixels, heads: Int
        var headChannels: Int { channels / heads }
        var blocks: Int { batch * heads }
        /// Row offsets of block t's q, k, v (t = image·heads + head) in [B, 3C, HW].
        func q(_ t: Int) -> Int { ((t / heads) * 3 * channels + (t % heads) * headChannels) * pixels }
        func k(_ t: Int) -> Int { q(t) + channels * pixels }
        func v(_ t: Int) -> Int { q(t) + 2 * channels * pixels }
        /// Block t's rows in a [B, C, HW] tensor.
        func out(_ t: Int) -> Int { ((t / heads) * channels + (t % heads) * headChannels) * pixels }
        /// Per block: A (c²), Ŝ (c²), ‖q‖ (c), ‖k‖ (c).
        var stateSize: Int { 2 * headChannels * headChannels + 2 * headChannels }
    }

    /// Runs `body` for each block: across threads with serial BLAS when there are enough blocks,
    /// otherwise one block at a time with each product split over the threads.
    static func forEachBlock(_ count: Int, _ body: (Int) -> Void) {
        if count >= Parallel.threadCount && count > 1 {
            Parallel.forEachWithSerialBLAS(count, body)
        } else {
            for t in 0..<count { body(t) }
        }
    }

    /// `body(rows)` over `0..<count` rows, in parallel unless already inside a parallel region.
    static func forRows(_ count: Int, _ body: (Range<Int>) -> Void) {
        if Parallel.isInsideRegion { body(0..<count) } else { Parallel.forChunks(count, body) }
    }

    static func forward<T: TensorScalar>(_: T.Type, _ geo: Geometry, _ x: Tensor, _ temperature: Tensor,
                                         keepState: Bool) -> (Tensor, Tensor?) {
        let c = geo.headChannels, cc = c * c, hw = geo.pixels
        let px = UncheckedSendable(UnsafePointer(x.basePointer(T.self)))
        let pt = UnsafePointer(temperature.basePointer(T.self))
        // Every block's state (the norms are needed by the forward too, so always kept).
        let state = Tensor.make([geo.blocks, geo.stateSize], T.self) { _ in }
        let ps = UncheckedSendable(state.basePointer(T.self))
        // Row norms of q and k: image i's rows 0..<2C.
        forRows(geo.batch * 2 * geo.channels) { rows in
            for r in rows {
                let image = r / (2 * geo.channels), channel = r % (2 * geo.channels)
                let row = px.value + (image * 3 * geo.channels + channel) * hw
                var acc: T = 0
                for i in 0..<hw { acc = Relaxed.multiplyAdd(row[i], row[i], acc) }
                let head = (channel % geo.channels) / c, index = channel % c
                let block = ps.value + (image * geo.heads + head) * geo.stateSize + 2 * cc
                block[(channel < geo.channels ? 0 : c) + index] = Swift.max(acc.squareRoot(), T(eps))
            }
        }
        let y = Tensor.make([geo.batch, geo.channels, hw], T.self) { out in
            let po = UncheckedSendable(out.baseAddress!)
            forEachBlock(geo.blocks) { t in
                let s = ps.value + t * geo.stateSize
                let a = s, normalized = s + cc, nq = s + 2 * cc, nk = nq + c
                // Ŝ = q·kᵀ / (‖q‖‖k‖), then A = softmax over each row of Ŝ·temperature.
                ParallelGEMM.run(transA: false, transB: true, m: c, n: c, k: hw, a: px.value + geo.q(t), lda: hw,
                                 b: px.value + geo.k(t), ldb: hw, beta: 0, c: normalized, ldc: c)
                let scale = pt[t % geo.heads]
                for i in 0..<c {
                    let sr = normalized + i * c, ar = a + i * c
                    var largest = -T.infinity
                    for j in 0..<c {
                        sr[j] = sr[j] / (nq[i] * nk[j])
                        ar[j] = sr[j] * scale
                        largest = Swift.max(largest, ar[j])
                    }
                    for j in 0..<c { ar[j] -= largest }
                    ExpFunction.apply(UnsafePointer(ar), to: ar, count: c)
                    var total: T = 0
                    for j in 0..<c { total += ar[j] }
                    for j in 0..<c { ar[j] /= total }
                }
                ParallelGEMM.run(transA: false, transB: false, m: c, n: hw, k: c, a: a, lda: c, b: px.value + geo.v(t),
                                 ldb: hw, beta: 0, c: po.value + geo.out(t), ldc: hw)
            }
        }
        return (y, keepState ? state : nil)
    }

    static func backward<T: TensorScalar>(_: T.Type, _ geo: Geometry, _ g: Tensor, _ x: Tensor, _ temperature: Tensor,
                                          _ state: Tensor) -> (Tensor, Tensor) {
        let c = geo.headChannels, cc = c * c, hw = geo.pixels
        let px = UncheckedSendable(UnsafePointer(x.basePointer(T.self)))
        let pg = UncheckedSendable(UnsafePointer(g.basePointer(T.self)))
        let ps = UncheckedSendable(UnsafePointer(state.basePointer(T.self)))
        let pt = UnsafePointer(temperature.basePointer(T.self))
        // Per block: M (c²), then the row factors of ∂q (c) and ∂k (c), then ∂temperature (1).
        let work = 2 * c + cc + 1
        // From the tensor memory cache: at 48 channels a head it exceeds 128 KiB from 8 blocks (one image at
        // Restormer's deepest level, every level at batch 8), which malloc would map and fault in afresh on
        // every call.
        return TensorMemoryCache.withScratch(T.self, count: geo.blocks * work + Swift.max(1, geo.blocks) * cc) { scratch in
            let pw = UncheckedSendable(scratch)
            let dx = Tensor.make(x.shape, T.self) { out in
                let pd = UncheckedSendable(out.baseAddress!)
                // 1. ∂v = Aᵀ·∂out; ∂A = ∂out·vᵀ → ∂logits → G, M and the row factors.
                forEachBlock(geo.blocks) { t in
                    let s = ps.value + t * geo.stateSize
                    let a = s, normalized = s + cc, nq = s + 2 * cc, nk = nq + c
                    let m = pw.value + t * work, fq = m + cc, fk = fq + c, dTemperature = fk + c
                    let dA = pw.value + geo.blocks * work + t * cc
                    let gOut = pg.value + geo.out(t)
                    ParallelGEMM.run(transA: true, transB: false, m: c, n: hw, k: c, a: a, lda: c, b: gOut, ldb: hw, beta: 0,
                                     c: pd.value + geo.v(t), ldc: hw)
                    ParallelGEMM.run(transA: false, transB: true, m: c, n: c, k: hw, a: gOut, lda: hw, b: px.value + geo.v(t),
                                     ldb: hw, beta: 0, c: dA, ldc: c)
                    let scale = pt[t % geo.heads]
                    var temperatureSum: T = 0
                    fk.update(repeating: 0, count: c)
                    for i in 0..<c {
                        let ar = a + i * c, dr = dA + i * c, sr = normalized + i * c, mr = m + i * c
                        var dot: T = 0
                        for j in 0..<c { dot += ar[j] * dr[j] }
                        var rowFactor: T = 0
                        for j in 0..<c {
                            let dLogit = ar[j] * (dr[j] - dot)          // softmax backward
                            temperatureSum += dLogit * sr[j]
                            let gS = dLogit * scale                     // ∂L/∂Ŝ
                            rowFactor += gS * sr[j]
                            fk[j] += gS * sr[j]
                            mr[j] = gS / (nq[i] * nk[j])
                        }
                        fq[i] = nq[i] > T(eps) ? -rowFactor / (nq[i] * nq[i]) : 0
                    }
                    for j in 0..<c { fk[j] = nk[j] > T(eps) ? -fk[j] / (nk[j] * nk[j]) : 0 }
                    dTemperature.pointee = temperatureSum
                }
                // 2. ∂q = fq·q, ∂k = fk·k row by row, for every block at once.
                forRows(geo.batch * 2 * geo.channels) { rows in
                    for r in rows {
                        let image = r / (2 * geo.channels), channel = r % (2 * geo.channels)
                        let head = (channel % geo.channels) / c, index = channel % c
                        let m = pw.value + (image * geo.heads + head) * work
                        let factor = (channel < geo.channels ? m + cc : m + cc + c)[index]
                        let offset = (image * 3 * geo.channels + channel) * hw
                        let source = px.value + offset, destination = pd.value + offset
                        for i in 0..<hw { destination[i] = factor * source[i] }
                    }
                }
                // 3. ∂q += M·k, ∂k += Mᵀ·q.
                forEachBlock(geo.blocks) { t in
                    let m = UnsafePointer(pw.value + t * work)
                    ParallelGEMM.run(transA: false, transB: false, m: c, n: hw, k: c, a: m, lda: c, b: px.value + geo.k(t),
                                     ldb: hw, beta: 1, c: pd.value + geo.q(t), ldc: hw)
                    ParallelGEMM.run(transA: true, transB: false, m: c, n: hw, k: c, a: m, lda: c, b: px.value + geo.q(t),
                                     ldb: hw, beta: 1, c: pd.value + geo.k(t), ldc: hw)
                }
            }
            let dTemperature = Tensor.make([geo.heads, 1, 1], T.self) { out in
                out.update(repeating: 0)
                for t in 0..<geo.blocks { out[t % geo.heads] += scratch[t * work + cc + 2 * c] }
            }
            return withExtendedLifetime((g, x, state)) { (dx, dTemperature) }
        }
    }
}
