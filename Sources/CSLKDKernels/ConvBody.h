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

#define SLKD_CONV_INLINE static inline __attribute__((always_inline))

/// Output columns [j, j + block) of one row; `block` is a compile-time constant at every call,
/// so the accumulators live in vector registers.
SLKD_CONV_INLINE void slkd_conv_row_block(const SLKDConvRows *g, const float *kernel, float bias,
                                          ptrdiff_t first_row, size_t kh_lo, size_t kh_hi, float *out,
                                          size_t j, const size_t block) {
    float acc[64];
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

/// out[0 ..< width] (width a multiple of 8) in blocks of `wide` columns, then of 32, 16 and 8.
/// Why the halving tail: DRSformer's lower levels have rows of 16 and 32 columns, and a row run
/// 8 columns at a time keeps a single accumulator, whose add latency then bounds the kernel.
SLKD_CONV_INLINE void slkd_conv_row_body(const SLKDConvRows *g, const float *kernel, float bias, ptrdiff_t first_row,
                                         size_t kh_lo, size_t kh_hi, float *out, size_t width, const size_t wide) {
    size_t j = 0;
    for (; j + wide <= width; j += wide) slkd_conv_row_block(g, kernel, bias, first_row, kh_lo, kh_hi, out, j, wide);
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

#endif
