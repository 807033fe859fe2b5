// Uformer's attention inside one window for one head (SLKDTensor's `uformerWindowAttention`),
// written once and instantiated per instruction set by Instances.c. Every product here is small
// (N = 64 tokens by d = 16 or 32 channels) and sits in L1; as OpenBLAS calls they spent more
// time in call, packing and C-zeroing overhead than in arithmetic.
//
// Every product is one form: C[r][j] = Σ_p X(r, p)·Y[p][j], one element of X broadcast against a
// row of Y, four rows of C by `tile` columns held in registers: 64 on the AVX-512 path (16 of its
// 32 registers), 16 on AVX2 and 8 on the baseline (8 of their 16), so that no sum is spilled; at 64
// columns the AVX2 path spilled half its sums to the stack on every step. The sum runs over p in
// order, whatever the tile; the
// wide paths fuse each multiply–add (`fused`), the baseline rounds the product and the sum, so
// the baseline's bits differ from theirs in the last places (AVX2 and AVX-512 agree).
#ifndef CSLKD_ATTENTION_BODY_H
#define CSLKD_ATTENTION_BODY_H

#include <stddef.h>
#include <string.h>

#include "CSLKDKernels.h"

#define SLKD_ATTN_INLINE static inline __attribute__((always_inline))

SLKD_ATTN_INLINE float slkd_attn_madd(float a, float b, float c, const int fused) {
    return fused ? __builtin_elementwise_fma(a, b, c) : a * b + c;
}

/// Rows [r, r + rows) (rows ≤ 4, a constant at each call) and columns [j, j + cols) (cols ≤ 64,
/// a constant) of C = Σ_p X(r, p)·Y[p][·], with X(r, p) = x[r·x_row + p·x_depth].
SLKD_ATTN_INLINE void slkd_attn_tile(float *c, size_t ldc, const float *x, size_t x_row, size_t x_depth,
                                     const float *y, size_t ldy, size_t depth, size_t r, size_t j,
                                     const size_t rows, const size_t cols, const int fused) {
    float acc[4][64];
    for (size_t rr = 0; rr < rows; rr++) {
        for (size_t jj = 0; jj < cols; jj++) acc[rr][jj] = 0.0f;
    }
    for (size_t p = 0; p < depth; p++) {
        const float *yr = y + p * ldy + j;
        for (size_t rr = 0; rr < rows; rr++) {
            const float a = x[(r + rr) * x_row + p * x_depth];
            for (size_t jj = 0; jj < cols; jj++) acc[rr][jj] = slkd_attn_madd(a, yr[jj], acc[rr][jj], fused);
        }
    }
    for (size_t rr = 0; rr < rows; rr++) {
        float *cr = c + (r + rr) * ldc + j;
        for (size_t jj = 0; jj < cols; jj++) cr[jj] = acc[rr][jj];
    }
}

/// Columns [j, j + cols) of every row, four rows at a time.
SLKD_ATTN_INLINE void slkd_attn_columns(float *c, size_t ldc, const float *x, size_t x_row, size_t x_depth,
                                        const float *y, size_t ldy, size_t rows, size_t depth, size_t j,
                                        const size_t cols, const int fused) {
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) slkd_attn_tile(c, ldc, x, x_row, x_depth, y, ldy, depth, r, j, 4, cols, fused);
    for (; r < rows; r++) slkd_attn_tile(c, ldc, x, x_row, x_depth, y, ldy, depth, r, j, 1, cols, fused);
}

/// C[r][j] = Σ_{p < depth} X(r, p)·Y[p][j] for r < rows, j < n (C overwritten), in blocks of
/// `tile` columns (64, 16 or 8), then of 8, then one by one.
SLKD_ATTN_INLINE void slkd_attn_product(float *c, size_t ldc, const float *x, size_t x_row, size_t x_depth,
                                        const float *y, size_t ldy, size_t rows, size_t depth, size_t n,
                                        const int fused, const size_t tile) {
    size_t j = 0;
    for (; j + tile <= n; j += tile) slkd_attn_columns(c, ldc, x, x_row, x_depth, y, ldy, rows, depth, j, tile, fused);
    for (; j + 8 <= n; j += 8) slkd_attn_columns(c, ldc, x, x_row, x_depth, y, ldy, rows, depth, j, 8, fused);
    for (; j < n; j++) slkd_attn_columns(c, ldc, x, x_row, x_depth, y, ldy, rows, depth, j, 1, fused);
}

typedef float slkd_attn_f4 __attribute__((ext_vector_type(4)));

SLKD_ATTN_INLINE slkd_attn_f4 slkd_attn_load4(const float *p) {
    slkd_attn_f4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

SLKD_ATTN_INLINE void slkd_attn_store4(float *p, slkd_attn_f4 v) { memcpy(p, &v, sizeof v); }

/// dst[a][b] = src[b][a] for an n×n block, in 4×4 tiles transposed in registers (left to
/// itself, the compiler reads the source column with gathers, which took a quarter of the
/// backward's time).
SLKD_ATTN_INLINE void slkd_attn_transpose(float *dst, const float *src, size_t n) {
    if (n % 4 != 0) {
#pragma clang loop vectorize(disable)
        for (size_t a = 0; a < n; a++) {
            for (size_t b = 0; b < n; b++) dst[a * n + b] = src[b * n + a];
        }
        return;
    }
    for (size_t b = 0; b < n; b += 4) {
        for (size_t a = 0; a < n; a += 4) {
            const slkd_attn_f4 r0 = slkd_attn_load4(src + b * n + a), r1 = slkd_attn_load4(src + (b + 1) * n + a);
            const slkd_attn_f4 r2 = slkd_attn_load4(src + (b + 2) * n + a), r3 = slkd_attn_load4(src + (b + 3) * n + a);
            const slkd_attn_f4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
            const slkd_attn_f4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
            slkd_attn_store4(dst + a * n + b, __builtin_shufflevector(t0, t2, 0, 1, 4, 5));
            slkd_attn_store4(dst + (a + 1) * n + b, __builtin_shufflevector(t0, t2, 2, 3, 6, 7));
            slkd_attn_store4(dst + (a + 2) * n + b, __builtin_shufflevector(t1, t3, 0, 1, 4, 5));
            slkd_attn_store4(dst + (a + 3) * n + b, __builtin_shufflevector(t1, t3, 2, 3, 6, 7));
        }
    }
}

/// e^x in float for the softmax: within 1.1 ulp of the exact value for −87 ≤ x ≤ 88.72; 0 below
/// −87 (e^x < 1.7·10⁻³⁸, nothing beside the column maximum's e^0 = 1, and no lane computes a
/// subnormal, which costs a microcode assist per operation); ∞ above 88.72; NaN for NaN.
///
/// Why not `slkd_exp_f32` (glibc's expf bit for bit, in double lanes): here it was about a third
/// of the attention forward, called row by row through the kernel table, and the softmax's
/// normalisation does not need its last bit. Cody–Waite reduction with ln 2 in two parts (n·hi is
/// exact for |n| < 2^15), then Cephes' degree-6 polynomial on |r| ≤ ln2/2. Each multiply–add
/// goes through slkd_attn_madd, so the two wide paths agree bit for bit, as for the products.
SLKD_ATTN_INLINE float slkd_attn_exp(float x, const int fused) {
    const float lo = -87.0f, hi = 88.72283f;
    const float clamped = x >= lo ? (x <= hi ? x : hi) : lo;   // NaN → lo: no NaN reaches the int conversion
    const float t = clamped * 1.44269504088896341f;
    const float shifted = t + 12582912.0f;            // 1.5·2^23: rounds t to an integer
    const float n = shifted - 12582912.0f;
    float r = slkd_attn_madd(-n, 0.693359375f, clamped, fused);
    r = slkd_attn_madd(-n, -2.12194440e-4f, r, fused);
    float poly = 1.9875691500e-4f;
    poly = slkd_attn_madd(poly, r, 1.3981999507e-3f, fused);
    poly = slkd_attn_madd(poly, r, 8.3334519073e-3f, fused);
    poly = slkd_attn_madd(poly, r, 4.1665795894e-2f, fused);
    poly = slkd_attn_madd(poly, r, 1.6666665459e-1f, fused);
    poly = slkd_attn_madd(poly, r, 5.0000001201e-1f, fused);
    const float r2 = r * r;
    poly = slkd_attn_madd(poly, r2, r, fused);
    poly = poly + 1.0f;
    // 2^n for n in [−126, 128): at n = 128 (x near 88.72) as 2·2^127.
    const int exponent = (int)n;
    const int half = exponent > 127 ? 1 : 0;
    float scale;
    const unsigned bits = (unsigned)(exponent - half + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    float result = poly * scale;
    if (half) result = result * 2.0f;
    if (x < lo) result = 0.0f;
    if (x > hi) result = __builtin_inff();
    if (x != x) result = x;
    return result;
}

/// p ← softmax over keys (rows) of p + bias (+ mask), column by column (queries), in the order
/// of SLKDTensor's `softmaxOverKeys` (its Float64 form), with slkd_attn_exp for e^x. `work`
/// holds 2n floats.
SLKD_ATTN_INLINE void slkd_attn_softmax(float *p, size_t n, const float *bias, const float *mask, float *work,
                                        const int fused) {
    float *maxima = work, *sums = work + n;
    for (size_t i = 0; i < n; i++) maxima[i] = -__builtin_inff(), sums[i] = 0.0f;
    for (size_t key = 0; key < n; key++) {
        float *row = p + key * n;
        const float *b = bias + key * n;
        if (mask) {
            const float *m = mask + key * n;
            for (size_t i = 0; i < n; i++) row[i] = row[i] + b[i] + m[i];   // (s + bias) + mask
        } else {
            for (size_t i = 0; i < n; i++) row[i] = row[i] + b[i];
        }
        // Swift's max: the running maximum stays unless the new value is ≥ it.
        for (size_t i = 0; i < n; i++) maxima[i] = row[i] >= maxima[i] ? row[i] : maxima[i];
    }
    for (size_t key = 0; key < n; key++) {
        float *row = p + key * n;
        // Four vectors per iteration: each exp is one long dependent chain (as in MathBodies.h).
#pragma clang loop interleave_count(4)
        for (size_t i = 0; i < n; i++) {
            const float e = slkd_attn_exp(row[i] - maxima[i], fused);
            row[i] = e;
            sums[i] = sums[i] + e;
        }
    }
    for (size_t i = 0; i < n; i++) sums[i] = 1.0f / sums[i];
    for (size_t key = 0; key < n; key++) {
        float *row = p + key * n;
        for (size_t i = 0; i < n; i++) row[i] = row[i] * sums[i];
    }
}

/// Copies a d×n tile with row stride `ld` into `dst`, rows back to back, and returns `dst`.
///
/// Why: q, k, v and g are tiles of whole images, so their rows lie `ld` = H·W floats apart, a
/// multiple of 4 KiB at the models' sizes (64 KiB at 128²). Read in place, every row of a tile
/// falls into the same few sets of L1 and L2, which hold 8 lines each, and the products, which
/// read each row once per block of 4 output rows, fetched them from L3 again and again (the load
/// of q's rows was the hottest instruction of the forward on Zen 3). Compact, a tile is 8 KiB.
SLKD_ATTN_INLINE const float *slkd_attn_compact(const float *src, size_t ld, size_t d, size_t n, float *dst) {
    for (size_t c = 0; c < d; c++) memcpy(dst + c * n, src + c * ld, n * sizeof(float));
    return dst;
}

/// One (image, window, head) block forward: Pᵀ-layout probabilities p[key][query] =
/// softmax_keys(kᵀ·q + bias (+ mask)) and out = v·p. q, k, v and out are d×n tiles with row
/// stride `ld`; bias, mask and p are n×n. `work` holds 2n + 3dn floats.
SLKD_ATTN_INLINE void slkd_window_attention_forward_body(const float *q, const float *k, const float *v, size_t ld,
                                                         size_t d, size_t n, const float *bias, const float *mask,
                                                         float *p, float *out, float *work, const int fused,
                                                         const size_t tile) {
    float *tiles = work + 2 * n;
    q = slkd_attn_compact(q, ld, d, n, tiles);
    k = slkd_attn_compact(k, ld, d, n, tiles + d * n);
    v = slkd_attn_compact(v, ld, d, n, tiles + 2 * d * n);
    slkd_attn_product(p, n, k, 1, n, q, n, n, d, n, fused, tile);             // Sᵀ[key][query] = Σ_c k[c][key]·q[c][query]
    slkd_attn_softmax(p, n, bias, mask, work, fused);
    slkd_attn_product(out, ld, v, n, 1, p, n, d, n, n, fused, tile);          // out[c][query] = Σ_key v[c][key]·p[key][query]
}

/// One block backward from the saved probabilities p and the output gradient g (a d×n tile):
/// dv = g·pᵀ; and when `logits`: dP = vᵀ·g, dS = p ⊙ (dP − Σ_keys p ⊙ dP), bias_gradient += dS,
/// dq = k·dS, dk = q·dSᵀ. `work` holds 2n² + n + 4dn floats.
SLKD_ATTN_INLINE void slkd_window_attention_backward_body(const float *q, const float *k, const float *v,
                                                          const float *g, size_t ld, size_t d, size_t n,
                                                          const float *p, float *dq, float *dk, float *dv,
                                                          float *bias_gradient, int logits, float *work,
                                                          const int fused, const size_t tile) {
    float *transposed = work, *ds = work + n * n, *column_sums = work + 2 * n * n, *tiles = column_sums + n;
    g = slkd_attn_compact(g, ld, d, n, tiles);                                // (slkd_attn_compact says why)
    if (logits) {
        q = slkd_attn_compact(q, ld, d, n, tiles + d * n);
        k = slkd_attn_compact(k, ld, d, n, tiles + 2 * d * n);
        v = slkd_attn_compact(v, ld, d, n, tiles + 3 * d * n);
    }
    slkd_attn_transpose(transposed, p, n);                                    // pᵀ[query][key]
    slkd_attn_product(dv, ld, g, n, 1, transposed, n, d, n, n, fused, tile);  // dv[c][key] = Σ_query g[c][query]·p[key][query]
    if (!logits) return;
    slkd_attn_product(ds, n, v, 1, n, g, n, n, d, n, fused, tile);            // dP[key][query] = Σ_c v[c][key]·g[c][query]
    for (size_t i = 0; i < n; i++) column_sums[i] = 0.0f;
    for (size_t key = 0; key < n; key++) {
        const float *pr = p + key * n, *dr = ds + key * n;
        for (size_t i = 0; i < n; i++) column_sums[i] = column_sums[i] + pr[i] * dr[i];
    }
    for (size_t key = 0; key < n; key++) {
        const float *pr = p + key * n;
        float *dr = ds + key * n, *br = bias_gradient + key * n;
        for (size_t i = 0; i < n; i++) {
            const float s = pr[i] * (dr[i] - column_sums[i]);
            dr[i] = s;
            br[i] = br[i] + s;
        }
    }
    slkd_attn_product(dq, ld, k, n, 1, ds, n, d, n, n, fused, tile);          // dq[c][query] = Σ_key k[c][key]·dS[key][query]
    slkd_attn_transpose(transposed, ds, n);                                   // dSᵀ[query][key]
    slkd_attn_product(dk, ld, q, n, 1, transposed, n, d, n, n, fused, tile);  // dk[c][key] = Σ_query q[c][query]·dS[key][query]
}

#endif
