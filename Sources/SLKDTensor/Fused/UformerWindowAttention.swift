import CSLKDKernels
import Foundation

// Uformer's attention inside windows (`model.py`, `WindowAttention.forward` after the projections:
// q·kᵀ, + relative position bias, + shift mask, softmax, ·v, head merge; Wang et al. 2022, §3.2)
// as one kernel per (image, window, head), with its hand-written backward.
//
// Unfused, the logits of every window are written four times (q·kᵀ, + bias, + mask, softmax),
// and the heads are merged by a permuted copy. Here each window-head's N×N logits live in one
// block: the two products read q, k, v straight from the channel-major projections and write the
// result into its channel rows, and bias, mask and softmax run on the block while it is in cache.
// Without a graph the block is per-thread scratch, so no N²-per-token tensor is allocated at all.
//
// The logits are kept transposed, Sᵀ[key, query], so that the softmax over keys runs with the
// queries side by side in memory (a vectorised lane block).

extension Tensor {
    /// Multi-head attention inside windows on channel-major projections.
    ///
    /// For image b, window w and head h, with q, k, v the d×N blocks of channels h·d ..< (h+1)·d
    /// and tokens w·N ..< (w+1)·N, the result's block is v · softmax_keys(kᵀ·q + bias[h] + mask[w]).
    ///
    /// - Parameters:
    ///   - q: queries [B, C, nW·N], already multiplied by the attention scale.
    ///   - k: keys of the same shape. Each of q, k, v may be a channel slice of a wider projection
    ///     (any image stride; channels and tokens contiguous).
    ///   - v: values of the same shape.
    ///   - heads: the number of heads; C must be a multiple of it.
    ///   - n: `windowTokens:`, N, the tokens of one window.
    ///   - bias: the relative position bias [heads, N, N] as bias[h, key, query] — the official
    ///     bias [heads, query, key] transposed. Receives a gradient.
    ///   - mask: the shift mask [nW, 1, N, N] or [nW, N, N] as mask[w, key, query], or nil. It is
    ///     a constant: no gradient flows to it.
    /// - Returns: [B, C, nW·N], the heads merged channel-major, with gradients for q, k, v and bias.
    public static func uformerWindowAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, windowTokens n: Int,
                                              bias: Tensor, mask: Tensor?) -> Tensor {
        windowAttention(q: q, k: k, v: v, packed: nil, heads: heads, windowTokens: n, bias: bias, mask: mask)
    }

    /// ``uformerWindowAttention(q:k:v:heads:windowTokens:bias:mask:)`` on one projection `qkv`
    /// [B, 3C, nW·N] whose channels are q (already scaled), k and v in that order. Its gradient is
    /// one tensor of the same shape, the three parts written in place: as three channel slices,
    /// each part's gradient would be padded to the whole projection and the three added.
    public static func uformerWindowAttention(qkv: Tensor, heads: Int, windowTokens n: Int, bias: Tensor,
                                              mask: Tensor?) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[1] % 3 == 0,
                     "uformerWindowAttention needs qkv [B, 3C, nW·N], got \(qkv.shape)")
        let c = qkv.shape[1] / 3
        let (q, k, v) = (qkv.narrowed(axis: 1, start: 0, length: c), qkv.narrowed(axis: 1, start: c, length: c),
                         qkv.narrowed(axis: 1, start: 2 * c, length: c))
        return windowAttention(q: q, k: k, v: v, packed: qkv, heads: heads, windowTokens: n, bias: bias, mask: mask)
    }

    /// The shared body: q, k, v as tensors or as the three channel slices of `packed` (then the
    /// graph's inputs are `packed` and the bias, and the backward returns one gradient for it).
    private static func windowAttention(q: Tensor, k: Tensor, v: Tensor, packed: Tensor?, heads: Int, windowTokens n: Int,
                                        bias: Tensor, mask: Tensor?) -> Tensor {
        precondition(q.rank == 3 && k.shape == q.shape && v.shape == q.shape && heads > 0 && q.shape[1] % heads == 0
                     && n > 0 && q.shape[2] % n == 0 && bias.shape == [heads, n, n]
                     && [k.dtype, v.dtype, bias.dtype].allSatisfy { $0 == q.dtype },
                     "uformerWindowAttention needs q, k, v [B, C, nW·N] with C divisible by \(heads) heads and bias [heads, N, N] of one dtype, got \(q.shape), \(k.shape), \(v.shape), \(bias.shape) for N = \(n)")
        let (b, c, l) = (q.shape[0], q.shape[1], q.shape[2])
        let windows = l / n, d = c / heads
        let maskBlocks = mask.map { $0.contiguous().detached().reshaped([-1, n, n]) }
        precondition(maskBlocks.map { $0.shape[0] == windows && $0.dtype == q.dtype } ?? true,
                     "uformerWindowAttention: mask \(mask?.shape ?? []) does not hold \(windows) windows of \(n)×\(n) in \(q.dtype)")
        // Counted as the two batched products of the unfused graph.
        MACCounter.record(.matmul, MACCounter.matmulMACs([b, windows, heads, n, d], [b, windows, heads, d, n]))
        MACCounter.record(.matmul, MACCounter.matmulMACs([b, windows, heads, d, n], [b, windows, heads, n, n]))
        let geometry = UformerAttentionKernel.Geometry(batch: b, channels: c, tokens: l, windowTokens: n, heads: heads)
        let (qs, ks, vs) = (rowContiguous(q), rowContiguous(k), rowContiguous(v))
        let bs = bias.contiguous().detached()
        let inputs = packed.map { [$0, bias] } ?? [q, k, v, bias]
        let recording = GradMode.isEnabled && inputs.contains { $0.requiresGrad }
        let (y, probabilities) = q.dtype.withFloatType("uformerWindowAttention") {
            UformerAttentionKernel.forward($0, geometry, qs, ks, vs, bs, maskBlocks, keepProbabilities: recording)
        }
        let need = packed.map { p in [p.requiresGrad, p.requiresGrad, p.requiresGrad, bias.requiresGrad] }
            ?? [q.requiresGrad, k.requiresGrad, v.requiresGrad, bias.requiresGrad]
        return Autograd.record(y, inputs: inputs) { g in
            let grads = g.dtype.withFloatType("uformerWindowAttention backward") {
                UformerAttentionKernel.backward($0, geometry, g.contiguous(), qs, ks, vs, probabilities!, need: need,
                                                packed: packed != nil)
            }
            if packed != nil { return [need[0] ? grads[0] : nil, need[3] ? grads[1] : nil] }
            return Swift.zip(grads, need).map { $1 ? $0 : nil }
        }
    }

    /// `t` detached, copied only if its [C, L] rows are not contiguous (a channel slice of a wider
    /// projection, with its own image stride, is used as it is).
    private static func rowContiguous(_ t: Tensor) -> Tensor {
        let ok = t.strides[2] == 1 && t.strides[1] == t.shape[2]
        return (ok ? t : t.contiguous()).detached()
    }
}

enum UformerAttentionKernel {
    struct Geometry {
        let batch, channels, tokens, windowTokens, heads: Int
        var windows: Int { tokens / windowTokens }
        var headDim: Int { channels / heads }
        var blocks: Int { batch * windows * heads }

        /// The offset of block t's d×N tile (t = (image·nW + window)·heads + head) in a [B, C, L]
        /// tensor with image stride `imageStride`.
        func tile(_ t: Int, imageStride: Int) -> Int {
            let head = t % heads, window = (t / heads) % windows, image = t / (heads * windows)
            return image * imageStride + head * headDim * tokens + window * windowTokens
        }
    }

    static func forward<T: TensorScalar>(_: T.Type, _ geo: Geometry, _ q: Tensor, _ k: Tensor, _ v: Tensor,
                                         _ bias: Tensor, _ mask: Tensor?, keepProbabilities: Bool) -> (Tensor, Tensor?) {
        let n = geo.windowTokens, nn = n * n, d = geo.headDim, l = geo.tokens
        let pq = UncheckedSendable(UnsafePointer(q.basePointer(T.self))), pk = UncheckedSendable(UnsafePointer(k.basePointer(T.self)))
        let pv = UncheckedSendable(UnsafePointer(v.basePointer(T.self))), pb = UncheckedSendable(UnsafePointer(bias.basePointer(T.self)))
        let pm = mask.map { UncheckedSendable(UnsafePointer($0.basePointer(T.self))) }
        let (sq, sk, sv) = (q.strides[0], k.strides[0], v.strides[0])
        let saved: Tensor? = keepProbabilities ? Tensor.make([geo.blocks, n, n], T.self) { _ in } : nil
        let ps = saved.map { UncheckedSendable($0.basePointer(T.self)) }
        let y = Tensor.make([geo.batch, geo.channels, l], T.self) { out in
            let po = UncheckedSendable(out.baseAddress!)
            BLASThreads.withSingleThread {
                Parallel.forChunks(geo.blocks) { range in
                    // The probabilities when not kept, then the C kernel's work (2N, and compact q, k, v tiles).
                    let scratch = UnsafeMutablePointer<T>.allocate(capacity: nn + 2 * n + 3 * d * n)
                    defer { scratch.deallocate() }
                    for t in range {
                        let p = ps.map { $0.value + t * nn } ?? scratch
                        let window = (t / geo.heads) % geo.windows
                        if T.self == Float.self {
                            // The whole block in the C target: products in registers, no BLAS calls.
                            slkd_window_attention_forward_f32(
                                floatPointer(pq.value + geo.tile(t, imageStride: sq)), floatPointer(pk.value + geo.tile(t, imageStride: sk)),
                                floatPointer(pv.value + geo.tile(t, imageStride: sv)), l, d, n, floatPointer(pb.value + (t % geo.heads) * nn),
                                pm.map { floatPointer($0.value + window * nn) }, mutableFloatPointer(p),
                                mutableFloatPointer(po.value + geo.tile(t, imageStride: geo.channels * l)), mutableFloatPointer(scratch + nn))
                            continue
                        }
                        // Sᵀ = kᵀ·q: [N_k, d]·[d, N_q].
                        ParallelGEMM.run(transA: true, transB: false, m: n, n: n, k: d, a: pk.value + geo.tile(t, imageStride: sk),
                                         lda: l, b: pq.value + geo.tile(t, imageStride: sq), ldb: l, beta: 0, c: p, ldc: n)
                        softmaxOverKeys(p, n: n, bias: pb.value + (t % geo.heads) * nn,
                                        mask: pm.map { $0.value + window * nn }, work: scratch + nn)
                        // The head's d output channels of this window: v·P, [d, N_k]·[N_k, N_q].
                        ParallelGEMM.run(transA: false, transB: false, m: d, n: n, k: n, a: pv.value + geo.tile(t, imageStride: sv),
                                         lda: l, b: p, ldb: n, beta: 0, c: po.value + geo.tile(t, imageStride: geo.channels * l), ldc: l)
                    }
                }
            }
        }
        return (y, saved)
    }

    /// p ← softmax over rows (keys) of p + bias + mask, for each column (query). `work` holds 2N.
    @inline(__always)
    static func softmaxOverKeys<T: TensorScalar>(_ p: UnsafeMutablePointer<T>, n: Int, bias: UnsafePointer<T>,
                                                 mask: UnsafePointer<T>?, work: UnsafeMutablePointer<T>) {
        let maxima = work, sums = work + n
        maxima.update(repeating: -T.infinity, count: n)
        sums.update(repeating: 0, count: n)
        for key in 0..<n {
            let row = p + key * n, b = bias + key * n
            if let mask {
                let m = mask + key * n
                for i in 0..<n { row[i] = row[i] + b[i] + m[i] }   // (s + bias) + mask, the official order
            } else {
                for i in 0..<n { row[i] += b[i] }
            }
            for i in 0..<n { maxima[i] = Swift.max(maxima[i], row[i]) }
        }
        for key in 0..<n {
            let row = p + key * n
            for i in 0..<n { row[i] -= maxima[i] }
            ExpFunction.apply(UnsafePointer(row), to: row, count: n)
            for i in 0..<n { sums[i] += row[i] }
        }
        for i in 0..<n { sums[i] = 1 / sums[i] }
        for key in 0..<n {
            let row = p + key * n
            for i in 0..<n { row[i] *= sums[i] }
        }
    }

    /// Gradients of q, k, v and bias (each computed only when `need` says so, except that q's and
    /// k's share the softmax backward).
    static func backward<T: TensorScalar>(_: T.Type, _ geo: Geometry, _ g: Tensor, _ q: Tensor, _ k: Tensor, _ v: Tensor,
                                          _ probabilities: Tensor, need: [Bool], packed: Bool = false) -> [Tensor] {
        let n = geo.windowTokens, nn = n * n, d = geo.headDim, l = geo.tokens, cl = geo.channels * l
        let shape = [geo.batch, geo.channels, l]
        // Packed: one [B, 3C, L] gradient, q's, k's and v's channels at offsets 0, C·L and 2C·L.
        let gradientStride = packed ? 3 * cl : cl
        let pq = UncheckedSendable(UnsafePointer(q.basePointer(T.self))), pk = UncheckedSendable(UnsafePointer(k.basePointer(T.self)))
        let pv = UncheckedSendable(UnsafePointer(v.basePointer(T.self))), pg = UncheckedSendable(UnsafePointer(g.basePointer(T.self)))
        let pp = UncheckedSendable(UnsafePointer(probabilities.basePointer(T.self)))
        let (sq, sk, sv) = (q.strides[0], k.strides[0], v.strides[0])
        // Every tile of each gradient is written by exactly one block; the make closures are empty.
        let gradients = packed ? [Tensor.make([geo.batch, 3 * geo.channels, l], T.self) { _ in }]
            : (0..<3).map { _ in Tensor.make(shape, T.self) { _ in } }
        let bases = packed ? (0..<3).map { gradients[0].basePointer(T.self) + $0 * cl } : gradients.map { $0.basePointer(T.self) }
        let (pdq, pdk, pdv) = (UncheckedSendable(bases[0]), UncheckedSendable(bases[1]), UncheckedSendable(bases[2]))
        let needLogits = need[0] || need[1] || need[3]
        // The bias gradient sums every image and window: each chunk sums its own, and the chunks'
        // sums are added in the order of their first block once all are done, so that the bits do
        // not depend on which chunk finished first (with three or more chunks the order matters).
        let lock = NSLock()
        var chunkSums: [(firstBlock: Int, values: [T])] = []
        let dBias = Tensor.make([geo.heads, n, n], T.self) { total in
            total.update(repeating: 0)
            BLASThreads.withSingleThread {
                // One chunk per thread: each chunk zeroes, fills and then adds its own copy of the
                // bias gradient (heads·N² floats), which more chunks would multiply.
                Parallel.forChunks(geo.blocks, chunksPerThread: 1) { range in
                    // This chunk's bias gradient, then the work of one block (2N² + N + 4dN for the C kernel). From
                    // the tensor memory cache: with 8 or more heads it is ≥ 128 KiB, which malloc would map
                    // and fault in afresh on every call (the most page faults of a Ufor-SL training step).
                    TensorMemoryCache.withScratch(T.self, count: geo.heads * nn + 2 * nn + n + 4 * geo.headDim * n) { scratch in
                        let local = scratch, ds = scratch + geo.heads * nn, columnSums = ds + nn
                        local.update(repeating: 0, count: geo.heads * nn)
                        for t in range {
                            let p = pp.value + t * nn
                            let gTile = pg.value + geo.tile(t, imageStride: cl), qTile = pq.value + geo.tile(t, imageStride: sq)
                            let kTile = pk.value + geo.tile(t, imageStride: sk), vTile = pv.value + geo.tile(t, imageStride: sv)
                            let out = geo.tile(t, imageStride: gradientStride)
                            if T.self == Float.self {
                                slkd_window_attention_backward_f32(
                                    floatPointer(qTile), floatPointer(kTile), floatPointer(vTile), floatPointer(gTile), l, d, n, floatPointer(p),
                                    mutableFloatPointer(pdq.value + out), mutableFloatPointer(pdk.value + out), mutableFloatPointer(pdv.value + out),
                                    mutableFloatPointer(local + (t % geo.heads) * nn), needLogits ? 1 : 0, mutableFloatPointer(ds))
                                continue
                            }
                            // dv = gO·Pᵀ: [d, N_q]·[N_q, N_k].
                            ParallelGEMM.run(transA: false, transB: true, m: d, n: n, k: n, a: gTile, lda: l, b: p, ldb: n,
                                             beta: 0, c: pdv.value + out, ldc: l)
                            guard needLogits else { continue }
                            // dP = vᵀ·gO: [N_k, d]·[d, N_q].
                            ParallelGEMM.run(transA: true, transB: false, m: n, n: n, k: d, a: vTile, lda: l, b: gTile, ldb: l,
                                             beta: 0, c: ds, ldc: n)
                            // Softmax over keys: dS = P ⊙ (dP − Σ_keys P ⊙ dP), per query column.
                            columnSums.update(repeating: 0, count: n)
                            for key in 0..<n {
                                let pr = p + key * n, dr = ds + key * n
                                for i in 0..<n { columnSums[i] += pr[i] * dr[i] }
                            }
                            let biasTile = local + (t % geo.heads) * nn
                            for key in 0..<n {
                                let pr = p + key * n, dr = ds + key * n, br = biasTile + key * n
                                for i in 0..<n {
                                    let s = pr[i] * (dr[i] - columnSums[i])
                                    dr[i] = s
                                    br[i] += s
                                }
                            }
                            // dq = k·dS: [d, N_k]·[N_k, N_q]; dk = q·dSᵀ: [d, N_q]·[N_q, N_k].
                            ParallelGEMM.run(transA: false, transB: false, m: d, n: n, k: n, a: kTile, lda: l, b: ds, ldb: n,
                                             beta: 0, c: pdq.value + out, ldc: l)
                            ParallelGEMM.run(transA: false, transB: true, m: d, n: n, k: n, a: qTile, lda: l, b: ds, ldb: n,
                                             beta: 0, c: pdk.value + out, ldc: l)
                        }
                        let values = Array(UnsafeBufferPointer(start: local, count: geo.heads * nn))
                        lock.withLock { chunkSums.append((range.lowerBound, values)) }
                    }
                }
            }
            for chunk in chunkSums.sorted(by: { $0.firstBlock < $1.firstBlock }) {
                for i in 0..<(geo.heads * nn) { total[i] += chunk.values[i] }
            }
        }
        return withExtendedLifetime((g, q, k, v, probabilities)) { gradients + [dBias] }
    }
}
