// The float sum kernel's body, instantiated per instruction set by Instances.c.
#ifndef CSLKD_SUM_BODY_H
#define CSLKD_SUM_BODY_H

#include <stddef.h>

/// Partial sums kept by the sum kernel: four AVX-512 registers, eight AVX2 ones, sixteen SSE2
/// ones (spilled in part). The lanes, not the vector width, fix the order of the additions.
#define SLKD_SUM_LANES 64

/// The lanes combined by halving (lane j += lane j + w, w = 32 … 1); returns lane 0.
static inline __attribute__((always_inline)) float slkd_sum_fold(float acc[SLKD_SUM_LANES]) {
    for (size_t w = SLKD_SUM_LANES / 2; w >= 1; w /= 2) {
        for (size_t j = 0; j < w; j++) acc[j] += acc[j + w];
    }
    return acc[0];
}

/// Partial sums kept by the kernels that fold them with slkd_sum_fold16 (3×3 weight gradient,
/// LayerNorm parameter gradients): fixed, not the path's vector width.
#define SLKD_FOLD16_LANES 16

/// SLKD_FOLD16_LANES lanes combined by halving (lane j + 8, then + 4, + 2, + 1), without
/// changing `lanes`.
static inline __attribute__((always_inline)) float slkd_sum_fold16(const float *lanes) {
    float s[8];
    for (size_t l = 0; l < 8; l++) s[l] = lanes[l] + lanes[l + 8];
    for (size_t l = 0; l < 4; l++) s[l] = s[l] + s[l + 4];
    for (size_t l = 0; l < 2; l++) s[l] = s[l] + s[l + 2];
    return s[0] + s[1];
}

/// Σ src[0 ..< n] in a fixed order on every path: lane j adds src[j], src[j + 64], …, then the
/// tail src[64·m + j]; the lanes are combined by halving (lane j += lane j + w, w = 32 … 1).
static inline __attribute__((always_inline)) float slkd_sum_body(const float *src, size_t n) {
    float acc[SLKD_SUM_LANES] = {0};
    size_t i = 0;
    for (; i + SLKD_SUM_LANES <= n; i += SLKD_SUM_LANES) {
        for (size_t j = 0; j < SLKD_SUM_LANES; j++) acc[j] += src[i + j];
    }
    for (size_t j = 0; i < n; i++, j++) acc[j] += src[i];
    return slkd_sum_fold(acc);
}

#endif
