// The bodies of MathBodies.h compiled three times: the baseline, AVX2 with FMA, and AVX-512.
// Contraction stays off for all three so that FMA hardware does not change the bits: every path
// must return the same bits (the window attention's products, which fuse on the wide paths, are
// the documented exception).
#pragma clang fp contract(off)

#include "AttentionBody.h"
#include "ConvBody.h"
#include "KernelTable.h"
#include "MathBodies.h"
#include "NormBody.h"
#include "SumBody.h"

#define SLKD_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define SLKD_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define SLKD_TARGET_BASELINE

/// The wrappers for one instruction set.
#define SLKD_INSTANTIATE(name, target)                                                             \
    target static void exp_f32_##name(const float *s, float *d, size_t n) { slkd_exp_body(s, d, n); } \
    target static void sigmoid_f32_##name(const float *s, float *d, size_t n) {                    \
        slkd_sigmoid_body(s, d, n);                                                                \
    }                                                                                              \
    target static void tanh_f32_##name(const float *s, float *d, size_t n) { slkd_tanh_body(s, d, n); } \
    target static void gelu_f32_##name(const float *s, float *d, size_t n) { slkd_gelu_body(s, d, n); } \
    target static void gelu_backward_f32_##name(const float *g, const float *x, float *d, size_t n) { \
        slkd_gelu_backward_body(g, x, d, n);                                                       \
    }                                                                                              \
    target static float gelu_backward_sum_f32_##name(const float *g, const float *x, float *d, size_t n) { \
        return slkd_gelu_backward_sum_body(g, x, d, n);                                            \
    }                                                                                              \
    target static void gelu_gate_backward_f32_##name(const float *g, const float *a, const float *b, float *ga, \
                                                     float *gb, size_t n) {                         \
        slkd_gelu_gate_backward_body(g, a, b, ga, gb, n);                                          \
    }                                                                                              \
    target static float sum_f32_##name(const float *s, size_t n) { return slkd_sum_body(s, n); }  \
    target static void conv_rows_f32_##name(const SLKDConvRows *g, const float *k, float b, ptrdiff_t r, \
                                            size_t lo, size_t hi, size_t n, float *o, size_t os, size_t w) { \
        slkd_conv_rows_body(g, k, b, r, lo, hi, n, o, os, w, SLKD_CONV_WIDE_##name);               \
    }                                                                                              \
    target static void depthwise3x3_plane_f32_##name(const float *s, const float *k, float b, float *d, \
                                                     size_t h, size_t w, const float *z) {          \
        slkd_depthwise3x3_plane_body(s, k, b, d, h, w, z, SLKD_DW_WIDE_##name);                  \
    }                                                                                              \
    target static void depthwise3x3_weight_gradient_f32_##name(const float *g, const float *x, size_t h, \
                                                               size_t w, float *t) {                \
        slkd_depthwise3x3_weight_gradient_body(g, x, h, w, t);                                     \
    }                                                                                              \
    target static void channel_norm_forward_f32_##name(const float *x, float *y, size_t n, size_t s, size_t m, \
                                                       const float *w, const float *b, int c, float e,        \
                                                       double *st) {                               \
        slkd_channel_norm_forward_body(x, y, n, s, m, w, b, c, e, st);                             \
    }                                                                                              \
    target static void channel_norm_backward_f32_##name(const float *g, const float *x, float *dx, size_t n, \
                                                        size_t s, size_t m, const float *w, int c, \
                                                        const double *st) {                        \
        slkd_channel_norm_backward_body(g, x, dx, n, s, m, w, c, st);                              \
    }                                                                                              \
    target static void channel_norm_parameter_gradients_f32_##name(                                \
        const float *g, const float *x, size_t o, size_t i, size_t s, const float *mu, const float *r, int c, \
        float *dw, float *db) {                                                                    \
        slkd_channel_norm_parameter_gradients_body(g, x, o, i, s, mu, r, c, dw, db);               \
    }                                                                                              \
    target static void window_attention_forward_f32_##name(const float *q, const float *k, const float *v, \
                                                           size_t ld, size_t d, size_t n, const float *b, \
                                                           const float *m, float *p, float *o, float *w) { \
        slkd_window_attention_forward_body(q, k, v, ld, d, n, b, m, p, o, w, SLKD_FUSED_##name,    \
                                           SLKD_ATTN_TILE_##name);                                 \
    }                                                                                              \
    target static void window_attention_backward_f32_##name(                                       \
        const float *q, const float *k, const float *v, const float *g, size_t ld, size_t d, size_t n, \
        const float *p, float *dq, float *dk, float *dv, float *db, int logits, float *w) {        \
        slkd_window_attention_backward_body(q, k, v, g, ld, d, n, p, dq, dk, dv, db, logits, w, SLKD_FUSED_##name, \
                                            SLKD_ATTN_TILE_##name);                                \
    }

/// Columns per conv row block: enough independent accumulators to hide the add latency (8 SSE
/// registers of 32 floats; 8 AVX2 registers of 64; 8 AVX-512 registers of 128). With contraction
/// off each tap is a multiply and a dependent add per accumulator: AVX2's 4 accumulators left the
/// row kernel bound by the add's latency (3 cycles for 32 multiply–adds on Zen 3); 8 run at the
/// pipes' rate (4 cycles for 64). On AVX-512, 128 columns ran 128-wide rows 11–27 % faster than
/// 64 in a C harness on a Xeon, and let rows of 16 and 32 go several at a time (ConvBody.h).
#define SLKD_CONV_WIDE_baseline 32
#define SLKD_CONV_WIDE_avx2 64
#define SLKD_CONV_WIDE_avx512 128
/// Whether the attention products fuse each multiply–add (the paths with FMA hardware).
#define SLKD_FUSED_baseline 0
#define SLKD_FUSED_avx2 1
#define SLKD_FUSED_avx512 1
/// Columns per attention product tile (four rows): 8 of the 16 SSE or AVX2 registers, 16 of
/// AVX-512's 32 (AttentionBody.h).
#define SLKD_ATTN_TILE_baseline 8
#define SLKD_ATTN_TILE_avx2 16
#define SLKD_ATTN_TILE_avx512 64
/// Columns per depthwise 3×3 block: two vectors.
#define SLKD_DW_WIDE_baseline 8
#define SLKD_DW_WIDE_avx2 16
#define SLKD_DW_WIDE_avx512 32

SLKD_INSTANTIATE(baseline, SLKD_TARGET_BASELINE)
SLKD_INSTANTIATE(avx2, SLKD_TARGET_AVX2)
SLKD_INSTANTIATE(avx512, SLKD_TARGET_AVX512)

const SLKDKernelTable slkd_kernels_baseline = {
    exp_f32_baseline, sigmoid_f32_baseline, tanh_f32_baseline, gelu_f32_baseline, gelu_backward_f32_baseline,
    gelu_backward_sum_f32_baseline, gelu_gate_backward_f32_baseline, sum_f32_baseline, conv_rows_f32_baseline,
    depthwise3x3_plane_f32_baseline, depthwise3x3_weight_gradient_f32_baseline,
    channel_norm_forward_f32_baseline, channel_norm_backward_f32_baseline, channel_norm_parameter_gradients_f32_baseline,
    window_attention_forward_f32_baseline, window_attention_backward_f32_baseline,
};
const SLKDKernelTable slkd_kernels_avx2 = {
    exp_f32_avx2, sigmoid_f32_avx2, tanh_f32_avx2, gelu_f32_avx2, gelu_backward_f32_avx2,
    gelu_backward_sum_f32_avx2,
    gelu_gate_backward_f32_avx2, sum_f32_avx2, conv_rows_f32_avx2, depthwise3x3_plane_f32_avx2,
    depthwise3x3_weight_gradient_f32_avx2,
    channel_norm_forward_f32_avx2, channel_norm_backward_f32_avx2, channel_norm_parameter_gradients_f32_avx2,
    window_attention_forward_f32_avx2, window_attention_backward_f32_avx2,
};
const SLKDKernelTable slkd_kernels_avx512 = {
    exp_f32_avx512, sigmoid_f32_avx512, tanh_f32_avx512, gelu_f32_avx512,
    gelu_backward_f32_avx512, gelu_backward_sum_f32_avx512, gelu_gate_backward_f32_avx512, sum_f32_avx512, conv_rows_f32_avx512,
    depthwise3x3_plane_f32_avx512, depthwise3x3_weight_gradient_f32_avx512,
    channel_norm_forward_f32_avx512, channel_norm_backward_f32_avx512, channel_norm_parameter_gradients_f32_avx512,
    window_attention_forward_f32_avx512, window_attention_backward_f32_avx512,
};
