// The direct convolution's row kernel, written once and instantiated per instruction set by
// Instances.c (see MathBodies.h for the scheme). Every output element sums the bias, then kernel
// rows kh, input channels ci and taps kw in that order, one product and one sum at a time
// (contraction is off), so every path and every block width returns the same bits, which are
// also those of the Swift kernel it replaced.
#ifndef CSLKD_CONV_BODY_H
#define CSLKD_CONV_BODY_H

#include <stddef.h>
#include <string.h>

#include "CSLKDKernels.h"
#include "SumBody.h"

#define SLKD_CONV_INLINE static inline __attribute__((always_inline))

/// Output columns [j, j + block) of one row; `block` (at most 128) is a compile-time constant at
/// every call, so the accumulators live in vector registers.
SLKD_CONV_INLINE void slkd_conv_row_block(const SLKDConvRows *g, const float *kernel, float bias,
                                          ptrdiff_t first_row, size_t kh_lo, size_t kh_hi, float *out,
                                          size_t j, const size_t block) {
    float acc[128];
    for (size_t t = 0; t < block; t++) acc[t] = bias;
    for (size_t kh = kh_lo; kh < kh_hi; kh++) {
        const float *row = g->rows + (size_t)(first_row + (ptrdiff_t)(kh * g->dilation_h)) * g->row_width + j;
        for (size_t ci = 0; ci < g->channels; ci++) {
            const float *src = row + ci * g->height * g->row_width;
            const float *taps = kernel + (ci * g->kernel_h + kh) * g->kernel_w;
            for (size_t kw = 0; kw < g->kernel_w; kw++) {
                const float w = taps[kw];
                const float *s = src + kw * g->dilation_w;
                for (size_t t = 0; t < block; t++) acc[t] += w * s[t];
            }
        }
    }
    memcpy(out + j, acc, block * sizeof(float));
}

/// out[0 ..< width] (width a multiple of 8) in blocks of `wide` columns, then of 64, 32, 16 and 8.
/// Why the halving tail: DRSformer's lower levels have rows of 16 and 32 columns, and a row run
/// 8 columns at a time keeps a single accumulator, whose add latency then bounds the kernel.
SLKD_CONV_INLINE void slkd_conv_row_body(const SLKDConvRows *g, const float *kernel, float bias, ptrdiff_t first_row,
                                         size_t kh_lo, size_t kh_hi, float *out, size_t width, const size_t wide) {
    size_t j = 0;
    for (; j + wide <= width; j += wide) slkd_conv_row_block(g, kernel, bias, first_row, kh_lo, kh_hi, out, j, wide);
    if (wide > 64 && j + 64 <= width) {
        slkd_conv_row_block(g, kernel, bias, first_row, kh_lo, kh_hi, out, j, 64);
        j += 64;
    }
    if (wide > 32 && j + 32 <= width) {
        slkd_conv_row_block(g, kernel, bias, first_row, kh_lo, kh_hi, out, j, 32);
        j += 32;
    }
    if (j + 16 <= width) {
        slkd_conv_row_block(g, kernel, bias, first_row, kh_lo, kh_hi, out, j, 16);
        j += 16;
    }
    if (j < width) slkd_conv_row_block(g, kernel, bias, first_row, kh_lo, kh_hi, out, j, 8);
}

/// Columns [0, block) of `rows` consecutive output rows that share [kh_lo, kh_hi), output row r
/// at out + r·out_stride; `rows` and `block` are compile-time constants, rows·block ≤ 128. Each
/// output sums the same terms in the same order as slkd_conv_row_block (the same bits).
SLKD_CONV_INLINE void slkd_conv_rows_block(const SLKDConvRows *g, const float *kernel, float bias,
                                           ptrdiff_t first_row, size_t kh_lo, size_t kh_hi, float *out,
                                           size_t out_stride, const size_t rows, const size_t block) {
    float acc[128];
    for (size_t t = 0; t < rows * block; t++) acc[t] = bias;
    for (size_t kh = kh_lo; kh < kh_hi; kh++) {
        for (size_t ci = 0; ci < g->channels; ci++) {
            const float *taps = kernel + (ci * g->kernel_h + kh) * g->kernel_w;
            for (size_t kw = 0; kw < g->kernel_w; kw++) {
                const float w = taps[kw];
                for (size_t r = 0; r < rows; r++) {
                    const float *s = g->rows
                                     + (size_t)(first_row + (ptrdiff_t)(r + kh * g->dilation_h)) * g->row_width
                                     + ci * g->height * g->row_width + kw * g->dilation_w;
                    for (size_t t = 0; t < block; t++) acc[r * block + t] += w * s[t];
                }
            }
        }
    }
    for (size_t r = 0; r < rows; r++) memcpy(out + r * out_stride, acc + r * block, block * sizeof(float));
}

/// `count` consecutive output rows that share [kh_lo, kh_hi), row r at out + r·out_stride.
///
/// Why groups of rows: with contraction off, each tap is a multiply and a dependent add per
/// accumulator, so a row of 16 or 32 columns (DRSformer's two lowest levels) keeps only two or four
/// AVX-512 accumulators and waits on the add's latency. When `wide` is 128 (the AVX-512 path),
/// rows of 32 go four at a time and rows of 16 eight at a time, 128 accumulators in all: 9–64 %
/// faster in a C harness on a Xeon (Docs/Benchmarks.md, ninth session). Rows of 64 in pairs gained
/// nothing there and stay one by one; the narrower paths' registers have no room for more.
SLKD_CONV_INLINE void slkd_conv_rows_body(const SLKDConvRows *g, const float *kernel, float bias, ptrdiff_t first_row,
                                          size_t kh_lo, size_t kh_hi, size_t count, float *out, size_t out_stride,
                                          size_t width, const size_t wide) {
    size_t r = 0;
    if (wide >= 128 && width == 32) {
        for (; r + 4 <= count; r += 4) {
            slkd_conv_rows_block(g, kernel, bias, first_row + (ptrdiff_t)r, kh_lo, kh_hi, out + r * out_stride,
                                 out_stride, 4, 32);
        }
    }
    if (wide >= 128 && width == 16) {
        for (; r + 8 <= count; r += 8) {
            slkd_conv_rows_block(g, kernel, bias, first_row + (ptrdiff_t)r, kh_lo, kh_hi, out + r * out_stride,
                                 out_stride, 8, 16);
        }
    }
    for (; r < count; r++) {
        slkd_conv_row_body(g, kernel, bias, first_row + (ptrdiff_t)r, kh_lo, kh_hi, out + r * out_stride, width, wide);
    }
}

/// One output of the depthwise 3×3 whose left or right neighbour is padding (columns 0 and w − 1):
/// the centre column's three taps, then the left's, then the right's, those inside the row.
SLKD_CONV_INLINE float slkd_depthwise3x3_edge(const float *r0, const float *r1, const float *r2, const float *k,
                                              float bias, size_t j, size_t w) {
    float s = bias + k[1] * r0[j] + k[4] * r1[j] + k[7] * r2[j];
    if (j >= 1) s += k[0] * r0[j - 1] + k[3] * r1[j - 1] + k[6] * r2[j - 1];
    if (j + 1 < w) s += k[2] * r0[j + 1] + k[5] * r1[j + 1] + k[8] * r2[j + 1];
    return s;
}

/// Interior outputs [j, j + block) of one depthwise 3×3 row: the bias, then the nine taps row by
/// row. `block` is a compile-time constant at every call, so the loop is one or two vectors
/// (`restrict`: the output plane never overlaps the input, which lets the loads move ahead).
SLKD_CONV_INLINE void slkd_depthwise3x3_block(const float *restrict r0, const float *restrict r1,
                                              const float *restrict r2, const float *restrict k, float bias,
                                              float *restrict o, size_t j, const size_t block) {
    for (size_t t = j; t < j + block; t++) {
        float s = bias;
        s += k[0] * r0[t - 1];
        s += k[1] * r0[t];
        s += k[2] * r0[t + 1];
        s += k[3] * r1[t - 1];
        s += k[4] * r1[t];
        s += k[5] * r1[t + 1];
        s += k[6] * r2[t - 1];
        s += k[7] * r2[t];
        s += k[8] * r2[t + 1];
        o[t] = s;
    }
}

/// One H×W plane of a depthwise 3×3 convolution with "same" padding; `zero` holds w zeros and
/// stands in for the rows above the first and below the last. The interior columns 1 ..< w − 1
/// run in blocks of `wide` and then 8 columns, the last block moved left to end at w − 1 (it
/// recomputes a few outputs with the same operations, so the same values): a remainder loop
/// would run one column at a time, and Restormer's rows (128 and less) are mostly remainder for
/// 64-column vector loops.
SLKD_CONV_INLINE void slkd_depthwise3x3_plane_body(const float *src, const float *k, float bias, float *dst, size_t h,
                                                   size_t w, const float *zero, const size_t wide) {
    for (size_t i = 0; i < h; i++) {
        const float *r0 = i > 0 ? src + (i - 1) * w : zero;
        const float *r1 = src + i * w;
        const float *r2 = i + 1 < h ? src + (i + 1) * w : zero;
        float *o = dst + i * w;
        o[0] = slkd_depthwise3x3_edge(r0, r1, r2, k, bias, 0, w);
        if (w < 2) continue;
        const size_t end = w - 1;  // interior columns: 1 ..< end
        size_t j = 1;
        if (end - j >= 8) {
            for (; j + wide <= end; j += wide) slkd_depthwise3x3_block(r0, r1, r2, k, bias, o, j, wide);
            for (; j + 8 <= end; j += 8) slkd_depthwise3x3_block(r0, r1, r2, k, bias, o, j, 8);
            if (j < end) slkd_depthwise3x3_block(r0, r1, r2, k, bias, o, end - 8, 8);
        } else {
            for (; j < end; j++) slkd_depthwise3x3_block(r0, r1, r2, k, bias, o, j, 1);
        }
        o[w - 1] = slkd_depthwise3x3_edge(r0, r1, r2, k, bias, w - 1, w);
    }
}

/// Lanes of the depthwise weight-gradient accumulators (those slkd_sum_fold16 folds). Fixed,
/// not the path's vector width, so that every path adds the same products in the same order.
#define SLKD_DW_GRAD_LANES SLKD_FOLD16_LANES

/// One block of 16 output columns [j, j + 16) of one output row against one input row:
/// `gs[l]` is g[j + l] and `xs[l + kw]` is x[j + l − 1 + kw]. With `edge` (the block touches
/// column −1 or w, and `gs`/`xs` are zero-padded copies), a lane adds its product only where the
/// input column lies in the plane and j + l < w: a zero pad times an infinite gradient would
/// otherwise add NaN to a tap whose true sum is finite.
SLKD_CONV_INLINE void slkd_dw_grad_block(const float *gs, const float *xs, size_t j, size_t w, float *acc,
                                         const int edge) {
    for (size_t l = 0; l < SLKD_DW_GRAD_LANES; l++) {
        const size_t c = j + l;
        const float gv = gs[l];
        float p0 = gv * xs[l], p1 = gv * xs[l + 1], p2 = gv * xs[l + 2];
        if (edge) {
            p0 = c >= 1 && c < w ? p0 : 0.0f;
            p1 = c < w ? p1 : 0.0f;
            p2 = c + 1 < w ? p2 : 0.0f;
        }
        acc[l] = acc[l] + p0;
        acc[SLKD_DW_GRAD_LANES + l] = acc[SLKD_DW_GRAD_LANES + l] + p1;
        acc[2 * SLKD_DW_GRAD_LANES + l] = acc[2 * SLKD_DW_GRAD_LANES + l] + p2;
    }
}

/// x[j − 1 …< j + 17) of one row, zero outside [0, w), into `dst` (18 floats).
SLKD_CONV_INLINE void slkd_dw_grad_edge_copy(const float *row, size_t j, size_t w, float *dst) {
    for (size_t k = 0; k < SLKD_DW_GRAD_LANES + 2; k++) {
        const size_t c = j + k;   // column c − 1
        dst[k] = c >= 1 && c - 1 < w ? row[c - 1] : 0.0f;
    }
}

/// The weight gradient of a depthwise 3×3 "same" convolution from one plane pair:
/// taps[kh·3 + kw] += Σ_{i,j} g[i][j]·x[i − 1 + kh][j − 1 + kw] over the terms inside the plane,
/// all nine taps in one pass over g. Lane l of each tap adds columns l, l + 16, … row by row;
/// the lanes are then summed as a fixed tree. Interior blocks read the planes in place; the
/// blocks at the two edges read zero-padded copies.
SLKD_CONV_INLINE void slkd_depthwise3x3_weight_gradient_body(const float *g, const float *x, size_t h, size_t w,
                                                             float *taps) {
    const size_t lanes = SLKD_DW_GRAD_LANES;
    float acc[9 * SLKD_DW_GRAD_LANES];
    for (size_t t = 0; t < 9 * lanes; t++) acc[t] = 0.0f;
    float gs[SLKD_DW_GRAD_LANES], xs[3][SLKD_DW_GRAD_LANES + 2];
    for (size_t i = 0; i < h; i++) {
        const float *grow = g + i * w, *mid = x + i * w;
        // Input rows i − 1 and i + 1 (the first and last output rows have none above or below).
        const int hasUp = i > 0, hasDown = i + 1 < h;
        const float *up = hasUp ? mid - w : mid, *down = hasDown ? mid + w : mid;
        for (size_t j = 0; j < w; j += lanes) {
            if (j == 0 || j + lanes + 1 > w) {
                for (size_t l = 0; l < lanes; l++) gs[l] = j + l < w ? grow[j + l] : 0.0f;
                slkd_dw_grad_edge_copy(up, j, w, xs[0]);
                slkd_dw_grad_edge_copy(mid, j, w, xs[1]);
                slkd_dw_grad_edge_copy(down, j, w, xs[2]);
                if (hasUp) slkd_dw_grad_block(gs, xs[0], j, w, acc, 1);
                slkd_dw_grad_block(gs, xs[1], j, w, acc + 3 * lanes, 1);
                if (hasDown) slkd_dw_grad_block(gs, xs[2], j, w, acc + 6 * lanes, 1);
            } else {
                if (hasUp) slkd_dw_grad_block(grow + j, up + j - 1, j, w, acc, 0);
                slkd_dw_grad_block(grow + j, mid + j - 1, j, w, acc + 3 * lanes, 0);
                if (hasDown) slkd_dw_grad_block(grow + j, down + j - 1, j, w, acc + 6 * lanes, 0);
            }
        }
    }
    for (size_t t = 0; t < 9; t++) taps[t] = taps[t] + slkd_sum_fold16(acc + t * lanes);
}

#endif
