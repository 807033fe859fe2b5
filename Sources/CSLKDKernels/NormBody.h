// LayerNorm over channels (Restormer's and Uformer's channel LayerNorm, [outer, C, inner] with
// the lanes along `inner`), written once and instantiated per instruction set by Instances.c.
//
// Each lane's statistics and outputs use the operations, in the order, of SLKDTensor's generic
// `NormKernels` (channel by channel, one rounding per operation; contraction is off), so every
// path returns the bits of the Swift kernel for Float. Lanes are independent, so the vector
// width does not enter. The parameter gradients sum across lanes: they use 16 fixed lanes and a
// fixed tree, the same on every path.
#ifndef CSLKD_NORM_BODY_H
#define CSLKD_NORM_BODY_H

#include <stddef.h>

#include "SumBody.h"

#define SLKD_NORM_INLINE static inline __attribute__((always_inline))
/// Partial sums of the parameter gradients (those slkd_sum_fold16 folds).
#define SLKD_NORM_LANES SLKD_FOLD16_LANES
/// Lanes per pass of the forward and input-gradient kernels: each channel's row of a block is
/// read as one contiguous 1 KiB run (16-lane blocks would read 64-byte pieces at the channel
/// stride, which for 128² maps every channel's piece onto the same L1 set).
#define SLKD_NORM_BLOCK 256

/// Lanes [0, count) of a block (count ≤ SLKD_NORM_BLOCK).
SLKD_NORM_INLINE void slkd_channel_norm_forward_lanes(const float *x, float *y, size_t n, size_t stride,
                                                      const float *w, const float *b, int centred, float eps,
                                                      double *stats, size_t count) {
    float mean[SLKD_NORM_BLOCK], var[SLKD_NORM_BLOCK], rstd[SLKD_NORM_BLOCK];
    for (size_t l = 0; l < count; l++) mean[l] = 0.0f, var[l] = 0.0f;
    for (size_t c = 0; c < n; c++) {
        const float *row = x + c * stride;
        for (size_t l = 0; l < count; l++) mean[l] = mean[l] + row[l];
    }
    const float inv_n = 1.0f / (float)n;
    for (size_t l = 0; l < count; l++) mean[l] = mean[l] * inv_n;
    for (size_t c = 0; c < n; c++) {
        const float *row = x + c * stride;
        for (size_t l = 0; l < count; l++) {
            const float d = row[l] - mean[l];
            var[l] = var[l] + d * d;
        }
    }
    for (size_t l = 0; l < count; l++) rstd[l] = 1.0f / __builtin_elementwise_sqrt(var[l] * inv_n + eps);
    for (size_t c = 0; c < n; c++) {
        const float *row = x + c * stride;
        float *dst = y + c * stride;
        const float wc = w ? w[c] : 1.0f, bc = b ? b[c] : 0.0f;
        if (centred) {
            for (size_t l = 0; l < count; l++) dst[l] = (row[l] - mean[l]) * rstd[l] * wc + bc;
        } else {
            for (size_t l = 0; l < count; l++) dst[l] = row[l] * rstd[l] * wc + bc;
        }
    }
    for (size_t l = 0; l < count; l++) stats[2 * l] = (double)mean[l], stats[2 * l + 1] = (double)rstd[l];
}

/// y and the per-lane (μ, 1/√(σ²+ε)) of `m` lanes: lane j's channel c is x[c·stride + j].
SLKD_NORM_INLINE void slkd_channel_norm_forward_body(const float *x, float *y, size_t n, size_t stride, size_t m,
                                                     const float *w, const float *b, int centred, float eps,
                                                     double *stats) {
    for (size_t j = 0; j < m; j += SLKD_NORM_BLOCK) {
        const size_t count = m - j < SLKD_NORM_BLOCK ? m - j : SLKD_NORM_BLOCK;
        slkd_channel_norm_forward_lanes(x + j, y + j, n, stride, w, b, centred, eps, stats + 2 * j, count);
    }
}

/// The input gradient of lanes [0, count). With x̂ = (x − μ)·r and g′ = g·w: centred,
/// dx = r·(g′ − mean(g′) − x̂·mean(g′·x̂)); BiasFree, dx = r·g′ − r³·(x − μ)·mean(g′·x).
SLKD_NORM_INLINE void slkd_channel_norm_backward_lanes(const float *g, const float *x, float *dx, size_t n,
                                                       size_t stride, const float *w, int centred,
                                                       const double *stats, size_t count) {
    float mean[SLKD_NORM_BLOCK], rstd[SLKD_NORM_BLOCK], s1[SLKD_NORM_BLOCK], s2[SLKD_NORM_BLOCK];
    for (size_t l = 0; l < count; l++) {
        mean[l] = (float)stats[2 * l], rstd[l] = (float)stats[2 * l + 1], s1[l] = 0.0f, s2[l] = 0.0f;
    }
    for (size_t c = 0; c < n; c++) {
        const float *xr = x + c * stride, *gr = g + c * stride;
        const float wc = w ? w[c] : 1.0f;
        if (centred) {
            for (size_t l = 0; l < count; l++) {
                const float gp = gr[l] * wc;
                s1[l] = s1[l] + gp;
                s2[l] = s2[l] + gp * (xr[l] - mean[l]) * rstd[l];
            }
        } else {
            for (size_t l = 0; l < count; l++) s2[l] = s2[l] + gr[l] * wc * xr[l];
        }
    }
    const float inv_n = 1.0f / (float)n;
    for (size_t c = 0; c < n; c++) {
        const float *xr = x + c * stride, *gr = g + c * stride;
        float *dst = dx + c * stride;
        const float wc = w ? w[c] : 1.0f;
        if (centred) {
            for (size_t l = 0; l < count; l++) {
                const float xhat = (xr[l] - mean[l]) * rstd[l];
                dst[l] = rstd[l] * (gr[l] * wc - s1[l] * inv_n - xhat * s2[l] * inv_n);
            }
        } else {
            for (size_t l = 0; l < count; l++) {
                const float r = rstd[l];
                dst[l] = r * gr[l] * wc - r * r * r * (xr[l] - mean[l]) * s2[l] * inv_n;
            }
        }
    }
}

SLKD_NORM_INLINE void slkd_channel_norm_backward_body(const float *g, const float *x, float *dx, size_t n,
                                                      size_t stride, size_t m, const float *w, int centred,
                                                      const double *stats) {
    for (size_t j = 0; j < m; j += SLKD_NORM_BLOCK) {
        const size_t count = m - j < SLKD_NORM_BLOCK ? m - j : SLKD_NORM_BLOCK;
        slkd_channel_norm_backward_lanes(g + j, x + j, dx + j, n, stride, w, centred, stats + 2 * j, count);
    }
}

/// One channel's parameter gradients over `outer` slices of `inner` lanes, the channel's values
/// at x[o·slice + i] (and g likewise): Σ g·x̂ (centred) or Σ g·x·r into *dw, Σ g into *db.
/// `mean` and `rstd` hold every lane's statistics, lane o·inner + i. Lane l of the partial sums
/// takes i ≡ l (mod 16), slice by slice; the tail of a slice fills the first lanes.
SLKD_NORM_INLINE void slkd_channel_norm_parameter_gradients_body(const float *g, const float *x, size_t outer,
                                                                 size_t inner, size_t slice, const float *mean,
                                                                 const float *rstd, int centred, float *dw,
                                                                 float *db) {
    float aw[SLKD_NORM_LANES], ab[SLKD_NORM_LANES];
    for (size_t l = 0; l < SLKD_NORM_LANES; l++) aw[l] = 0.0f, ab[l] = 0.0f;
    for (size_t o = 0; o < outer; o++) {
        const float *xr = x + o * slice, *gr = g + o * slice, *mr = mean + o * inner, *rr = rstd + o * inner;
        size_t i = 0;
        for (; i + SLKD_NORM_LANES <= inner; i += SLKD_NORM_LANES) {
            for (size_t l = 0; l < SLKD_NORM_LANES; l++) {
                const float gv = gr[i + l];
                const float xn = centred ? (xr[i + l] - mr[i + l]) * rr[i + l] : xr[i + l] * rr[i + l];
                aw[l] = aw[l] + gv * xn;
                ab[l] = ab[l] + gv;
            }
        }
        for (size_t l = 0; i + l < inner; l++) {
            const float gv = gr[i + l];
            const float xn = centred ? (xr[i + l] - mr[i + l]) * rr[i + l] : xr[i + l] * rr[i + l];
            aw[l] = aw[l] + gv * xn;
            ab[l] = ab[l] + gv;
        }
    }
    *dw = slkd_sum_fold16(aw);
    *db = slkd_sum_fold16(ab);
}

#endif
