// The AVX2 path's exp (ExpAVX2.c), which reads its table by hardware gathers.
#ifndef CSLKD_EXP_AVX2_H
#define CSLKD_EXP_AVX2_H

#include <stddef.h>

void slkd_exp_f32_avx2_gather(const float *src, float *dst, size_t n);

#endif
