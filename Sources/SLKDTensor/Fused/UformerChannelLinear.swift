import CSLKDKernels
import RealModule

// Uformer's Linear layers on channel-major tokens (`model.py`: `nn.Linear` in `LinearProjection`,
// `WindowAttention.proj` and `LeFF`; Wang et al. 2022, §3.2). Unfused, each is a GEMM W·X, then a
// second full pass that adds the broadcast bias into a fresh buffer (and, in LeFF, a third for
// GELU). Here the bias is written into the output first and the GEMM accumulates onto it (β = 1),
// GELU runs on that buffer in place — both by each thread on its own block of the product, in the
// product's parallel region — and the backward pass forms gelu′(z)·g and the bias gradient's row
// sums in one sweep. When a residual connection follows (LeFF's `linear2`), the
// output starts as residual + bias, so the add's own pass over memory goes too. On the AVX-512
// path most of these products (and the input gradients) skip OpenBLAS for `ChannelMajorProduct`,
// which adds bias and residual and applies GELU as it stores each tile.

extension Tensor {
    /// `nn.Linear` over the channel axis of channel-major tokens, optionally followed by exact
    /// GELU: for each image b, `y[b] = act(weight · x[b] + bias)`.
    ///
    /// - Parameters:
    ///   - x: tokens [B, in, L] (channel-major: `nn.Linear`'s input [B, L, in] transposed).
    ///   - weight: `nn.Linear.weight` [out, in].
    ///   - bias: `nn.Linear.bias` [out], or nil.
    ///   - gelu: whether exact GELU (`F.gelu`, approximate = "none") follows, as in LeFF's `linear1`.
    ///   - residual: [B, out, L] added to the product, or nil: `residual + (weight · x[b] + bias)`,
    ///     a block's residual connection after LeFF's `linear2`. The product accumulates onto
    ///     `residual + bias` instead of onto the bias, so the unfused add's pass over memory goes
    ///     (and the sums are rounded in that order). Not with `gelu`.
    /// - Returns: [B, out, L], with gradients for `x`, `weight`, `bias` and `residual`.
    public static func uformerChannelLinear(_ x: Tensor, weight: Tensor, bias: Tensor?, gelu: Bool = false,
                                            residual: Tensor? = nil) -> Tensor {
        precondition(x.rank == 3 && weight.rank == 2 && weight.shape[1] == x.shape[1]
                     && (bias.map { $0.shape == [weight.shape[0]] } ?? true)
                     && x.dtype == weight.dtype && (bias.map { $0.dtype == x.dtype } ?? true),
                     "uformerChannelLinear needs x [B, in, L], weight [out, in] and bias [out] of one float dtype, got \(x.dtype)\(x.shape), \(weight.dtype)\(weight.shape), \(bias.map { "\($0.dtype)\($0.shape)" } ?? "no bias")")
        precondition(residual.map { $0.shape == [x.shape[0], weight.shape[0], x.shape[2]] && $0.dtype == x.dtype && !gelu } ?? true,
                     "uformerChannelLinear: the residual must be [B, out, L] = \([x.shape[0], weight.shape[0], x.shape[2]]) in \(x.dtype) and comes without GELU, got \(residual.map { "\($0.dtype)\($0.shape)" } ?? "")\(gelu ? " with GELU" : "")")
        // Counted as the GEMM W·X it replaces (fvcore's `matmul` count of the official layer).
        MACCounter.record(.matmul, MACCounter.matmulMACs(weight.shape, x.shape))
        let xs = x.contiguous().detached(), ws = weight.contiguous().detached(), bs = bias?.contiguous().detached()
        let rs = residual?.contiguous().detached()
        let recording = GradMode.isEnabled && (x.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false))
        // Without a graph GELU overwrites the GEMM output; with one the pre-activation is kept for gelu′.
        let (y, preActivation) = x.dtype.withFloatType("uformerChannelLinear") {
            UformerLinearKernel.forward($0, xs, ws, bs, residual: rs, gelu: gelu, keepPreActivation: recording && gelu)
        }
        let needX = x.requiresGrad, needW = weight.requiresGrad, needB = bias?.requiresGrad ?? false
        let inputs = [x, weight] + (bias.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
        return Autograd.record(y, inputs: inputs) { g in
            let grads = g.dtype.withFloatType("uformerChannelLinear backward") {
                UformerLinearKernel.backward($0, g.contiguous(), xs, ws, preActivation: preActivation,
                                             needX: needX, needWeight: needW, needBias: needB)
            }
            return [grads.x, grads.weight] + (bias == nil ? [] : [grads.bias]) + (residual == nil ? [] : [g])
        }
    }
}

enum UformerLinearKernel {
    static func forward<T: TensorScalar>(_: T.Type, _ x: Tensor, _ w: Tensor, _ b: Tensor?, residual: Tensor? = nil,
                                         gelu: Bool, keepPreActivation: Bool) -> (Tensor, Tensor?) {
        let (batch, inF, len) = (x.shape[0], x.shape[1], x.shape[2]), outF = w.shape[0]
        let px = UnsafePointer(x.basePointer(T.self)), pw = UnsafePointer(w.basePointer(T.self))
        let pb = b.map { UnsafePointer($0.basePointer(T.self)) }
        let pr = residual.map { UncheckedSendable(UnsafePointer($0.basePointer(T.self))) }
        if T.self == Float.self && ChannelMajorProduct.applies(rows: outF, depth: inF, tokens: len) {
            let fused = gelu && !keepPreActivation
            let z = Tensor.make([batch, outF, len], T.self) { out in
                ChannelMajorProduct.run(floatPointer(px), floatPointer(pw), pb.map { floatPointer($0) },
                                        pr.map { floatPointer($0.value) }, gelu: fused, mutableFloatPointer(out.baseAddress!),
                                        batch: batch, rows: outF, depth: inF, tokens: len)
            }
            guard gelu && !fused else { return (z, nil) }
            return (applyingGELU(T.self, z), z)
        }
        // OpenBLAS: each thread writes bias (+ residual) into its block of the output, accumulates
        // the product onto it, then applies GELU to the block, all in the product's own region.
        // Without a graph GELU overwrites the product; with one it goes into a second tensor and the
        // product is kept as the pre-activation.
        let activated: Tensor? = gelu && keepPreActivation ? Tensor.make([batch, outF, len], T.self) { _ in } : nil
        let pa = activated.map { UncheckedSendable($0.basePointer(T.self)) }
        let bias = pb.map { UncheckedSendable($0) }
        let z = Tensor.make([batch, outF, len], T.self) { out in
            for i in 0..<batch {
                let image = i * outF * len
                let pz = UncheckedSendable(out.baseAddress! + image)
                let residualRows = pr.map { UncheckedSendable($0.value + image) }
                let activatedRows = pa.map { UncheckedSendable($0.value + image) }
                let prepare: ((ParallelGEMM.Block) -> Void)? = bias == nil && residualRows == nil ? nil : { block in
                    let width = block.columns.count
                    for r in block.rows {
                        let offset = r * len + block.columns.lowerBound, row = pz.value + offset
                        if let residualRows {
                            // residual + bias, the order the unfused add rounds in.
                            let source = residualRows.value + offset
                            guard let bias else { row.update(from: source, count: width); continue }
                            let value = bias.value[r]
                            for j in 0..<width { row[j] = source[j] + value }
                        } else if let bias {
                            row.update(repeating: bias.value[r], count: width)
                        }
                    }
                }
                let finish: ((ParallelGEMM.Block) -> Void)? = !gelu ? nil : { block in
                    for r in block.rows {
                        let offset = r * len + block.columns.lowerBound
                        let destination = activatedRows.map { $0.value + offset } ?? pz.value + offset
                        GELUFunction.apply(UnsafePointer(pz.value + offset), to: destination, count: block.columns.count)
                    }
                }
                ParallelGEMM.run(transA: false, transB: false, m: outF, n: len, k: inF, a: pw, lda: inF,
                                 b: px + i * inF * len, ldb: len, beta: prepare == nil ? 0 : 1, c: pz.value, ldc: len,
                                 prepare: prepare, finish: finish)
            }
        }
        guard let activated else { return (z, nil) }
        return (activated, z)
    }

    /// gelu(z) in a new tensor, in blocks of 1024 elements split over the threads.
    static func applyingGELU<T: TensorScalar>(_: T.Type, _ z: Tensor) -> Tensor {
        let source = UncheckedSendable(UnsafePointer(z.basePointer(T.self)))
        return Tensor.make(z.shape, T.self) { out in
            let d = UncheckedSendable(out.baseAddress!), block = 1024, total = z.count
            Parallel.forChunks((total + block - 1) / block, grain: 16) { blocks in
                let start = blocks.lowerBound * block, end = Swift.min(blocks.upperBound * block, total)
                GELUFunction.apply(source.value + start, to: d.value + start, count: end - start)
            }
        }
    }

    static func backward<T: TensorScalar>(_: T.Type, _ g: Tensor, _ x: Tensor, _ w: Tensor, preActivation: Tensor?,
                                          needX: Bool, needWeight: Bool, needBias: Bool)
        -> (x: Tensor?, weight: Tensor?, bias: Tensor?) {
        let (batch, inF, len) = (x.shape[0], x.shape[1], x.shape[2]), outF = w.shape[0]
        // gz = g·gelu′(z) and the per-row sums of gz (the bias gradient before summing images), one pass.
        var rowSums = [T](repeating: 0, count: batch * outF)
        let pg = UncheckedSendable(UnsafePointer(g.basePointer(T.self)))
        let gz: Tensor
        if let z = preActivation {
            let pzv = UncheckedSendable(UnsafePointer(z.basePointer(T.self)))
            gz = rowSums.withUnsafeMutableBufferPointer { sums in
                let ps = UncheckedSendable(sums.baseAddress!)
                return Tensor.make(g.shape, T.self) { out in
                    let po = UncheckedSendable(out.baseAddress!)
                    Parallel.forChunks(batch * outF, grain: Swift.max(1, 16384 / Swift.max(len, 1))) { rows in
                        for r in rows {
                            let gr = pg.value + r * len, zr = pzv.value + r * len, o = po.value + r * len
                            if T.self == Float.self {
                                // The C kernel (see SIMDPath): the same gz bits as the loop below, the
                                // sum in slkd_sum_f32's fixed order.
                                let (gf, of) = asFloats(gr, o)
                                let zf = UnsafeRawPointer(zr).assumingMemoryBound(to: Float.self)
                                let sum = slkd_gelu_backward_sum_f32(gf, zf, of, len)
                                ps.value[r] = unsafeBitCast(sum, to: T.self)
                                continue
                            }
                            var acc: T = 0
                            for i in 0..<len {
                                let v = gr[i] * GELUDerivativeFunction.apply(zr[i])
                                o[i] = v
                                acc = Relaxed.sum(acc, v)
                            }
                            ps.value[r] = acc
                        }
                    }
                }
            }
        } else {
            gz = g
            if needBias {
                rowSums.withUnsafeMutableBufferPointer { sums in
                    let ps = UncheckedSendable(sums.baseAddress!)
                    Parallel.forChunks(batch * outF, grain: Swift.max(1, 16384 / Swift.max(len, 1))) { rows in
                        for r in rows {
                            let gr = pg.value + r * len
                            var acc: T = 0
                            for i in 0..<len { acc = Relaxed.sum(acc, gr[i]) }
                            ps.value[r] = acc
                        }
                    }
                }
            }
        }
        let pgz = UnsafePointer(gz.basePointer(T.self))
        let px = UnsafePointer(x.basePointer(T.self)), pw = UnsafePointer(w.basePointer(T.self))
        let dx: Tensor? = needX ? Tensor.make(x.shape, T.self) { out in
            // x[b]'s gradient = Wᵀ · gz[b].
            if T.self == Float.self && ChannelMajorProduct.applies(rows: inF, depth: outF, tokens: len) {
                ChannelMajorProduct.run(floatPointer(pgz), floatPointer(pw), transposedWeight: true, nil, nil, gelu: false,
                                        mutableFloatPointer(out.baseAddress!), batch: batch, rows: inF, depth: outF, tokens: len)
                return
            }
            for i in 0..<batch {
                ParallelGEMM.run(transA: true, transB: false, m: inF, n: len, k: outF, a: pw, lda: inF,
                                 b: pgz + i * outF * len, ldb: len, beta: 0, c: out.baseAddress! + i * inF * len, ldc: len)
            }
        } : nil
        let dw: Tensor? = needWeight ? Tensor.make(w.shape, T.self) { out in
            // Σ_b gz[b] · x[b]ᵀ, accumulated in place over the images.
            for i in 0..<batch {
                ParallelGEMM.run(transA: false, transB: true, m: outF, n: inF, k: len, a: pgz + i * outF * len, lda: len,
                                 b: px + i * inF * len, ldb: len, beta: i == 0 ? 0 : 1, c: out.baseAddress!, ldc: inF)
            }
            if batch == 0 { out.update(repeating: 0) }
        } : nil
        let db: Tensor? = needBias ? Tensor.make([outF], T.self) { out in
            for o in 0..<outF {
                var acc: T = 0
                for i in 0..<batch { acc += rowSums[i * outF + o] }
                out[o] = acc
            }
        } : nil
        return withExtendedLifetime((g, gz, x, w, preActivation)) { (dx, dw, db) }
    }
}
