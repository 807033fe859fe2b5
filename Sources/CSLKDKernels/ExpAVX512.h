// The AVX-512 path's exp (ExpAVX512.c), which reads its table by permutes.
#ifndef CSLKD_EXP_AVX512_H
#define CSLKD_EXP_AVX512_H

#include <stddef.h>

void slkd_exp_f32_avx512_permute(const float *src, float *dst, size_t n);

#endif
