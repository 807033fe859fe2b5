// One set of kernels for one instruction set; Dispatch.c points at the CPU's widest.
#ifndef CSLKD_KERNEL_TABLE_H
#define CSLKD_KERNEL_TABLE_H

#include <stddef.h>

#include "CSLKDKernels.h"

typedef struct SLKDKernelTable {
    void (*exp_f32)(const float *, float *, size_t);
    void (*sigmoid_f32)(const float *, float *, size_t);
    void (*tanh_f32)(const float *, float *, size_t);
    void (*gelu_f32)(const float *, float *, size_t);
    void (*gelu_backward_f32)(const float *, const float *, float *, size_t);
    float (*gelu_backward_sum_f32)(const float *, const float *, float *, size_t);
    void (*gelu_gate_backward_f32)(const float *, const float *, const float *, float *, float *, size_t);
    float (*sum_f32)(const float *, size_t);
    void (*conv_rows_f32)(const SLKDConvRows *, const float *, float, ptrdiff_t, size_t, size_t, size_t, float *, size_t,
                          size_t);
    void (*depthwise3x3_plane_f32)(const float *, const float *, float, float *, size_t, size_t, const float *);
    void (*depthwise3x3_weight_gradient_f32)(const float *, const float *, size_t, size_t, float *);
    void (*channel_norm_forward_f32)(const float *, float *, size_t, size_t, size_t, const float *, const float *, int,
                                     float, double *);
    void (*channel_norm_backward_f32)(const float *, const float *, float *, size_t, size_t, size_t, const float *, int,
                                      const double *);
    void (*channel_norm_parameter_gradients_f32)(const float *, const float *, size_t, size_t, size_t, const float *,
                                                 const float *, int, float *, float *);
    void (*window_attention_forward_f32)(const float *, const float *, const float *, size_t, size_t, size_t,
                                         const float *, const float *, float *, float *, float *);
    void (*window_attention_backward_f32)(const float *, const float *, const float *, const float *, size_t, size_t,
                                          size_t, const float *, float *, float *, float *, float *, int, float *);
} SLKDKernelTable;

extern const SLKDKernelTable slkd_kernels_baseline;
extern const SLKDKernelTable slkd_kernels_avx2;
extern const SLKDKernelTable slkd_kernels_avx512;

#endif
