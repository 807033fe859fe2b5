// Uformer's channel-major Linear, C = act(W·X + bias (+ residual)), on the AVX-512 path: a packed
// weight, the tokens read in place, and the bias, residual and GELU applied as each tile of C is
// stored.
//
// Why not OpenBLAS here: its sgemm first makes a pass over C (the bias written into it, or zeros
// for β = 0) and packs the tokens before its kernel reads them, and the GELU that follows LeFF's
// first Linear is a third pass. For the models' reductions up to 512 channels those passes cost more
// than its better packing saves: with them, OpenBLAS ran the shortest (K ≤ 64) at 55–77 GFLOP/s on
// one core where this kernel runs them at 74–101 (Docs/Benchmarks.md, "2026-12-07: Uformer's Linear
// on its own AVX-512 kernel"). Longer reductions stay on OpenBLAS.
//
// The tile is 8 rows of C (8 weights broadcast per reduction step) by 32 tokens (two vectors):
// 16 accumulators. The reduction runs in blocks of 256 in order; each multiply–add is fused.
#pragma clang fp contract(off)

#include "CSLKDKernels.h"
#include "MathBodies.h"

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define SLKD_LINEAR_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define SLKD_LINEAR_ROWS 8
#define SLKD_LINEAR_COLUMNS 32
#define SLKD_LINEAR_DEPTH 256
#define SLKD_LINEAR_WIDTH 256

size_t slkd_linear_packed_count_f32(size_t rows, size_t depth) {
    return (rows + SLKD_LINEAR_ROWS - 1) / SLKD_LINEAR_ROWS * SLKD_LINEAR_ROWS * depth;
}

/// dst[p][r] = src[r·ld + p] for an 8×8 block: eight rows in, eight columns out, in registers.
static inline SLKD_LINEAR_TARGET __attribute__((always_inline)) void slkd_linear_transpose8(const float *src, size_t ld,
                                                                                            float *dst) {
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ld);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + i * 8, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        _mm256_storeu_ps(dst + (i + 4) * 8, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
}

SLKD_LINEAR_TARGET void slkd_linear_pack_f32(const float *weight, size_t rows, size_t depth, int transposed,
                                             size_t first_panel, size_t panels, float *packed) {
    for (size_t panel = first_panel; panel < first_panel + panels; panel++) {
        float *dst = packed + panel * depth * SLKD_LINEAR_ROWS;
        const size_t row0 = panel * SLKD_LINEAR_ROWS;
        size_t p = 0;
        if (row0 + SLKD_LINEAR_ROWS <= rows) {
            // A whole panel: each step's 8 weights are a row of Wᵀ (one copy), or 8×8 blocks of W
            // transposed in registers; the scalar loop below takes the remaining columns.
            if (transposed) {
                for (; p < depth; p++) memcpy(dst + p * SLKD_LINEAR_ROWS, weight + p * rows + row0, SLKD_LINEAR_ROWS * sizeof(float));
            } else {
                for (; p + 8 <= depth; p += 8) slkd_linear_transpose8(weight + row0 * depth + p, depth, dst + p * SLKD_LINEAR_ROWS);
            }
        }
        for (; p < depth; p++) {
            for (size_t r = 0; r < SLKD_LINEAR_ROWS; r++) {
                const size_t row = row0 + r;
                dst[p * SLKD_LINEAR_ROWS + r] = row >= rows ? 0.0f : transposed ? weight[p * rows + row] : weight[row * depth + p];
            }
        }
    }
}

/// One 8×32 tile over reduction steps [0, depth) of this block: C[r][j] = start + Σ a[p][r]·b[p][j],
/// where start is C itself (`accumulate`), else residual + bias, bias, or 0. Rows past `rows`
/// and columns past `columns` are neither read nor written.
static inline SLKD_LINEAR_TARGET __attribute__((always_inline)) void
slkd_linear_tile(size_t depth, const float *a, const float *b, size_t ldb, float *c, size_t ldc, const float *bias,
                 const float *residual, size_t rows, size_t columns, int accumulate) {
    __m512 acc[SLKD_LINEAR_ROWS][2];
    for (int r = 0; r < SLKD_LINEAR_ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const __mmask16 m0 = columns >= 16 ? 0xFFFF : (__mmask16)((1u << columns) - 1);
    const __mmask16 m1 = columns >= 32 ? 0xFFFF : columns <= 16 ? 0 : (__mmask16)((1u << (columns - 16)) - 1);
    for (size_t p = 0; p < depth; p++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + p * ldb), b1 = _mm512_maskz_loadu_ps(m1, b + p * ldb + 16);
        const float *ap = a + p * SLKD_LINEAR_ROWS;
        for (int r = 0; r < SLKD_LINEAR_ROWS; r++) {
            const __m512 w = _mm512_set1_ps(ap[r]);
            acc[r][0] = _mm512_fmadd_ps(w, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(w, b1, acc[r][1]);
        }
    }
    for (size_t r = 0; r < rows; r++) {
        float *cr = c + r * ldc;
        __m512 s0, s1;
        if (accumulate) {
            s0 = _mm512_maskz_loadu_ps(m0, cr);
            s1 = _mm512_maskz_loadu_ps(m1, cr + 16);
        } else {
            s0 = s1 = _mm512_set1_ps(bias ? bias[r] : 0.0f);
            if (residual) {
                const float *rr = residual + r * ldc;
                s0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, rr), s0);
                s1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, rr + 16), s1);
            }
        }
        _mm512_mask_storeu_ps(cr, m0, _mm512_add_ps(acc[r][0], s0));
        _mm512_mask_storeu_ps(cr + 16, m1, _mm512_add_ps(acc[r][1], s1));
    }
}

SLKD_LINEAR_TARGET void slkd_linear_columns_f32_avx512(const float *packed, size_t rows, size_t depth, const float *x,
                                                       size_t ldx, const float *bias, const float *residual,
                                                       int gelu, float *out, size_t first_column, size_t columns) {
    const size_t end = first_column + columns;
    for (size_t jc = first_column; jc < end; jc += SLKD_LINEAR_WIDTH) {
        const size_t width = end - jc < SLKD_LINEAR_WIDTH ? end - jc : SLKD_LINEAR_WIDTH;
        for (size_t i = 0; i < rows; i += SLKD_LINEAR_ROWS) {
            const size_t tile_rows = rows - i < SLKD_LINEAR_ROWS ? rows - i : SLKD_LINEAR_ROWS;
            const float *panel = packed + i * depth;
            size_t pc = 0;
            do {   // at least once, so that a zero-depth product still writes bias (+ residual)
                const size_t block = depth - pc < SLKD_LINEAR_DEPTH ? depth - pc : SLKD_LINEAR_DEPTH;
                for (size_t j = jc; j < jc + width; j += SLKD_LINEAR_COLUMNS) {
                    const size_t tile_columns = jc + width - j < SLKD_LINEAR_COLUMNS ? jc + width - j : SLKD_LINEAR_COLUMNS;
                    slkd_linear_tile(block, panel + pc * SLKD_LINEAR_ROWS, x + pc * ldx + j, ldx, out + i * ldx + j, ldx,
                                     bias ? bias + i : NULL, residual ? residual + i * ldx + j : NULL, tile_rows,
                                     tile_columns, pc > 0);
                }
                pc += SLKD_LINEAR_DEPTH;
            } while (pc < depth);
            // GELU in place on the rows just finished, while they are in cache: slkd_gelu_f32's
            // body, so the same bits.
            for (size_t r = 0; gelu && r < tile_rows; r++) slkd_gelu_body(out + (i + r) * ldx + jc, out + (i + r) * ldx + jc, width);
        }
    }
}
