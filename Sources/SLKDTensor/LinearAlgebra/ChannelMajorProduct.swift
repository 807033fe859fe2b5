import CSLKDKernels

/// Products of a weight with channel-major maps, y[b] = act(W·x[b] + bias (+ residual[b])) with
/// x[b] [depth, tokens] and y[b] [rows, tokens] — Uformer's Linear layers and their input
/// gradients, and 1×1 convolutions — on SLKD's own AVX-512 kernel
/// (`slkd_linear_columns_f32_avx512`, Sources/CSLKDKernels/LinearAVX512.c) where it beats OpenBLAS.
///
/// Why: an OpenBLAS product first needs a pass over C (a bias written into it, or zeros for β = 0,
/// which `ParallelGEMM` writes) and packs the tokens, and whatever follows the product (bias, residual, GELU) is one
/// more pass. This kernel reads the tokens in place and applies those as it stores each tile.
enum ChannelMajorProduct {
    /// Whether a product runs here instead of on OpenBLAS: on the AVX-512 path, with at least 64
    /// tokens and at most 512 input channels. Alone, the kernel ran the models' shapes with K ≤
    /// 256 at 0.6–0.9× the time of OpenBLAS with its pass over C, K = 512 at 0.98–1.06×, and
    /// longer reductions at up to 1.2× (Docs/Benchmarks.md); in the models the fused bias,
    /// residual and GELU tip K = 512 its way.
    static func applies(rows: Int, depth: Int, tokens: Int) -> Bool {
        SIMDPath.active == .avx512 && rows > 0 && tokens >= 64 && depth > 0 && depth <= 512
    }

    /// Every image's product, W rows×depth (`w` holding Wᵀ, depth×rows, when `transposedWeight`):
    /// the weight is packed once (panels split over threads), then each thread takes whole blocks
    /// of 32 tokens. `bias` [rows], `residual` like the output, or nil; `gelu` applies exact GELU
    /// last. Only where ``applies(rows:depth:tokens:)`` holds.
    static func run(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, transposedWeight: Bool = false,
                    _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?, gelu: Bool,
                    _ out: UnsafeMutablePointer<Float>, batch: Int, rows: Int, depth: Int, tokens: Int) {
        precondition(applies(rows: rows, depth: depth, tokens: tokens), "ChannelMajorProduct.run outside its shapes")
        // Recorded as the OpenBLAS products it replaces (a replay times those).
        for _ in 0..<batch {
            ProductRecorder.record(transA: transposedWeight, transB: false, m: rows, n: tokens, k: depth,
                                   overwrites: bias == nil && residual == nil, elementSize: 4)
        }
        let (px, pw, po) = (UncheckedSendable(x), UncheckedSendable(w), UncheckedSendable(out))
        let (pb, pr) = (bias.map { UncheckedSendable($0) }, residual.map { UncheckedSendable($0) })
        TensorMemoryCache.withScratch(Float.self, count: slkd_linear_packed_count_f32(rows, depth)) { scratch in
            let packed = UncheckedSendable(scratch)
            let panels = (rows + 7) / 8
            Parallel.forChunks(panels, grain: Swift.max(1, 8192 / (8 * depth))) { range in
                slkd_linear_pack_f32(pw.value, rows, depth, transposedWeight ? 1 : 0, range.lowerBound, range.count,
                                     packed.value)
            }
            let threads = Parallel.threadCount
            let block = Swift.max(32, ((tokens + threads - 1) / threads + 31) / 32 * 32)
            let blocksPerImage = (tokens + block - 1) / block
            Parallel.forChunks(batch * blocksPerImage) { range in
                for task in range {
                    let image = task / blocksPerImage, start = (task % blocksPerImage) * block
                    slkd_linear_columns_f32_avx512(packed.value, rows, depth, px.value + image * depth * tokens, tokens,
                                                   pb?.value, pr.map { $0.value + image * rows * tokens }, gelu ? 1 : 0,
                                                   po.value + image * rows * tokens, start, Swift.min(block, tokens - start))
                }
            }
        }
    }
}
