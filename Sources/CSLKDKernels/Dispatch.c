// Chooses the kernel table once, from the CPU's features and SLKD_SIMD, and forwards the public
// entry points to it.
#include "CSLKDKernels.h"
#include "KernelTable.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SLKDSIMDPath slkd_simd_best_supported(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma")) {
        return SLKDSIMDPathAVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SLKDSIMDPathAVX2;
    return SLKDSIMDPathBaseline;
}

SLKDSIMDPath slkd_simd_resolve(const char *requested, SLKDSIMDPath best, SLKDSIMDRequest *outcome) {
    SLKDSIMDRequest result;
    SLKDSIMDPath path = best;
    if (requested == NULL || requested[0] == '\0') {
        result = SLKDSIMDRequestNone;
    } else {
        SLKDSIMDPath wanted;
        if (strcmp(requested, "baseline") == 0) wanted = SLKDSIMDPathBaseline;
        else if (strcmp(requested, "avx2") == 0) wanted = SLKDSIMDPathAVX2;
        else if (strcmp(requested, "avx512") == 0) wanted = SLKDSIMDPathAVX512;
        else wanted = (SLKDSIMDPath)-1;
        if ((int)wanted < 0) {
            result = SLKDSIMDRequestUnknown;
        } else if (wanted > best) {
            result = SLKDSIMDRequestUnsupported;
        } else {
            result = SLKDSIMDRequestGranted;
            path = wanted;
        }
    }
    if (outcome) *outcome = result;
    return path;
}

static const SLKDKernelTable *slkd_table_for(SLKDSIMDPath path) {
    switch (path) {
    case SLKDSIMDPathAVX512: return &slkd_kernels_avx512;
    case SLKDSIMDPathAVX2: return &slkd_kernels_avx2;
    default: return &slkd_kernels_baseline;
    }
}

static _Atomic(int) slkd_active_path;
static pthread_once_t slkd_choose_once = PTHREAD_ONCE_INIT;

static const char *slkd_path_name(SLKDSIMDPath path) {
    switch (path) {
    case SLKDSIMDPathAVX512: return "avx512";
    case SLKDSIMDPathAVX2: return "avx2";
    default: return "baseline";
    }
}

static void slkd_choose(void) {
    const char *requested = getenv("SLKD_SIMD");
    SLKDSIMDRequest outcome;
    SLKDSIMDPath path = slkd_simd_resolve(requested, slkd_simd_best_supported(), &outcome);
    // One warning, never a failure: a bad setting must not stop a training run.
    if (outcome == SLKDSIMDRequestUnknown) {
        fprintf(stderr, "slkd: SLKD_SIMD=%s is not baseline, avx2 or avx512; using %s\n", requested,
                slkd_path_name(path));
    } else if (outcome == SLKDSIMDRequestUnsupported) {
        fprintf(stderr, "slkd: SLKD_SIMD=%s is not supported by this CPU; using %s\n", requested,
                slkd_path_name(path));
    }
    atomic_store_explicit(&slkd_active_path, (int)path, memory_order_relaxed);
}

SLKDSIMDPath slkd_simd_active(void) {
    pthread_once(&slkd_choose_once, slkd_choose);
    return (SLKDSIMDPath)atomic_load_explicit(&slkd_active_path, memory_order_relaxed);
}

void slkd_simd_use(SLKDSIMDPath path) {
    pthread_once(&slkd_choose_once, slkd_choose);
    SLKDSIMDPath best = slkd_simd_best_supported();
    atomic_store_explicit(&slkd_active_path, (int)(path > best ? best : path), memory_order_relaxed);
}

static const SLKDKernelTable *slkd_kernels(void) { return slkd_table_for(slkd_simd_active()); }

void slkd_exp_f32(const float *src, float *dst, size_t count) { slkd_kernels()->exp_f32(src, dst, count); }

void slkd_sigmoid_f32(const float *src, float *dst, size_t count) {
    slkd_kernels()->sigmoid_f32(src, dst, count);
}

void slkd_tanh_f32(const float *src, float *dst, size_t count) { slkd_kernels()->tanh_f32(src, dst, count); }

void slkd_gelu_f32(const float *src, float *dst, size_t count) { slkd_kernels()->gelu_f32(src, dst, count); }

void slkd_gelu_backward_f32(const float *g, const float *x, float *dst, size_t count) {
    slkd_kernels()->gelu_backward_f32(g, x, dst, count);
}

float slkd_gelu_backward_sum_f32(const float *g, const float *x, float *dst, size_t count) {
    return slkd_kernels()->gelu_backward_sum_f32(g, x, dst, count);
}

void slkd_gelu_gate_backward_f32(const float *g, const float *a, const float *b, float *ga, float *gb,
                                 size_t count) {
    slkd_kernels()->gelu_gate_backward_f32(g, a, b, ga, gb, count);
}

float slkd_sum_f32(const float *src, size_t count) { return slkd_kernels()->sum_f32(src, count); }

void slkd_conv_rows_f32(const SLKDConvRows *rows, const float *kernel, float bias, ptrdiff_t first_row, size_t kh_lo,
                        size_t kh_hi, size_t count, float *out, size_t out_stride, size_t width) {
    slkd_kernels()->conv_rows_f32(rows, kernel, bias, first_row, kh_lo, kh_hi, count, out, out_stride, width);
}

void slkd_depthwise3x3_plane_f32(const float *src, const float *kernel, float bias, float *dst, size_t height,
                                 size_t width, const float *zero) {
    slkd_kernels()->depthwise3x3_plane_f32(src, kernel, bias, dst, height, width, zero);
}

void slkd_depthwise3x3_weight_gradient_f32(const float *gradient, const float *input, size_t height, size_t width,
                                           float *taps) {
    slkd_kernels()->depthwise3x3_weight_gradient_f32(gradient, input, height, width, taps);
}

void slkd_channel_norm_forward_f32(const float *x, float *y, size_t channels, size_t stride, size_t lanes,
                                   const float *weight, const float *bias, int centred, float eps, double *stats) {
    slkd_kernels()->channel_norm_forward_f32(x, y, channels, stride, lanes, weight, bias, centred, eps, stats);
}

void slkd_channel_norm_backward_f32(const float *gradient, const float *x, float *dx, size_t channels, size_t stride,
                                    size_t lanes, const float *weight, int centred, const double *stats) {
    slkd_kernels()->channel_norm_backward_f32(gradient, x, dx, channels, stride, lanes, weight, centred, stats);
}

void slkd_channel_norm_parameter_gradients_f32(const float *gradient, const float *x, size_t outer, size_t inner,
                                               size_t slice, const float *mean, const float *rstd, int centred,
                                               float *weight_gradient, float *bias_gradient) {
    slkd_kernels()->channel_norm_parameter_gradients_f32(gradient, x, outer, inner, slice, mean, rstd, centred,
                                                         weight_gradient, bias_gradient);
}

void slkd_window_attention_forward_f32(const float *q, const float *k, const float *v, size_t row_stride,
                                       size_t head_dim, size_t tokens, const float *bias, const float *mask,
                                       float *probabilities, float *out, float *work) {
    slkd_kernels()->window_attention_forward_f32(q, k, v, row_stride, head_dim, tokens, bias, mask, probabilities, out,
                                                 work);
}

void slkd_window_attention_backward_f32(const float *q, const float *k, const float *v, const float *gradient,
                                        size_t row_stride, size_t head_dim, size_t tokens, const float *probabilities,
                                        float *dq, float *dk, float *dv, float *bias_gradient, int logits,
                                        float *work) {
    slkd_kernels()->window_attention_backward_f32(q, k, v, gradient, row_stride, head_dim, tokens, probabilities, dq, dk,
                                                  dv, bias_gradient, logits, work);
}
