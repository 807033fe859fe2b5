// The kernel bodies, written once and instantiated per instruction set by Instances.c. Each body
// is always inlined into a wrapper with a `target` attribute, which lets the compiler vectorise
// its loops for that wrapper's width. Floating-point contraction is off (see Instances.c), so
// every width performs the same IEEE operations and returns the same bits.
//
// The loops marked `interleave_count(4)` evaluate one long chain of dependent operations per
// element (GELU's rational erf, an exp polynomial, tanh's exp and quotient). With one vector per iteration,
// as the vectoriser emits them by default, the out-of-order window held about two chains at a
// time; four vectors per iteration side by side run GELU 18 % and its backward 28 % faster on
// Zen 3 (Docs/Benchmarks.md). Each element's operations are unchanged, so are the bits.
#ifndef CSLKD_MATH_BODIES_H
#define CSLKD_MATH_BODIES_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "SumBody.h"

#define SLKD_INLINE static inline __attribute__((always_inline))

/// Elements per block whose range is checked before the vector loop runs on it.
#define SLKD_BLOCK 64

/// Bits of 2^(i/32) minus i << 47, so that adding k << 47 scales by 2^(k div 32) (the table of
/// glibc's expf, ARM optimized-routines e_expf.c).
static const uint64_t slkd_exp2_table[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

/// exp(x) in double for |x| ≤ 88·2: x·32/ln2 = k + r, exp(x) = 2^(k/32)·p(r) with glibc expf's
/// cubic p (relative error below 2^-33, so a float rounding of it equals expf). The product
/// 32/ln2·x is split as hi·x (exact: hi has 29 bits, x at most 24) plus lo·x, which gives the
/// fused multiply-add's one rounding without needing FMA in the baseline.
SLKD_INLINE double slkd_exp_core(double x) {
    const double inv_ln2_n = 0x1.71547652b82fep+0 * 32.0;
    const double inv_ln2_n_hi = 0x1.7154765p+5, inv_ln2_n_lo = 0x1.5c17fp-26;
    const double shift = 0x1.8p+52;
    const double c0 = 0x1.c6af84b912394p-5 / 32 / 32 / 32, c1 = 0x1.ebfce50fac4f3p-3 / 32 / 32;
    const double c2 = 0x1.62e42ff0c52d6p-1 / 32;
    double shifted = inv_ln2_n * x + shift;   // rounds x·32/ln2 to an integer k in the low bits
    uint64_t k;
    memcpy(&k, &shifted, sizeof k);
    double kd = shifted - shift;
    double r = (inv_ln2_n_hi * x - kd) + inv_ln2_n_lo * x;
    uint64_t bits = slkd_exp2_table[k & 31] + (k << 47);
    double s;
    memcpy(&s, &bits, sizeof s);
    double r2 = r * r;
    double p = c0 * r + c1;
    double y = c2 * r + 1;
    y = p * r2 + y;
    return y * s;
}

/// Below log(2^-150) glibc's expf returns +0 (−∞ included); from there up it evaluates the
/// double-precision form of exp_core, so exp_core's rounding equals expf down to the underflow
/// too (checked for every float in [−200, −87]). Softmax with Uformer's −100 shift mask lives
/// in this range: sending it to the scalar fallback made expf three fifths of a window's time.
#define SLKD_EXP_UNDERFLOW (-0x1.9fe368p6f)

/// Whether slkd_exp_fast gives expf's bits for x (false for NaN and x > 88).
SLKD_INLINE int slkd_exp_in_range(float x) { return x <= 88.0f; }

/// expf(x) for x ≤ 88 (not NaN): +0 below the underflow, exp_core above it (the argument
/// clamped so that the unused lanes of a vector stay finite).
SLKD_INLINE float slkd_exp_fast(float x) {
    const float clamped = x < -104.0f ? -104.0f : x;
    const float y = (float)slkd_exp_core((double)clamped);
    return x < SLKD_EXP_UNDERFLOW ? 0.0f : y;
}

/// Whether any of src[0 ..< n] is outside exp_core's range; vectorises (no early exit).
SLKD_INLINE int slkd_any_out_of_range(const float *src, size_t n) {
    int bad = 0;
    for (size_t j = 0; j < n; j++) bad |= !slkd_exp_in_range(src[j]);
    return bad;
}

SLKD_INLINE float slkd_exp_scalar(float x) {
    return slkd_exp_in_range(x) ? slkd_exp_fast(x) : expf(x);
}

/// 1.5·2^23: adding it to |t| < 2^22 rounds t to an integer n held in the low bits of the sum.
#define SLKD_ROUND_MAGIC 12582912.0f

/// 2^n as a float, for `shifted` = t + SLKD_ROUND_MAGIC with n the integer t rounded to and
/// −126 ≤ n ≤ 127: n is written straight into the exponent field.
SLKD_INLINE float slkd_pow2_of_rounded(float shifted) {
    const float magic = SLKD_ROUND_MAGIC;
    uint32_t shifted_bits, magic_bits;
    memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
    memcpy(&magic_bits, &magic, sizeof magic_bits);
    const uint32_t scale_bits = (shifted_bits - magic_bits + 127u) << 23;
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return scale;
}

/// The Cody–Waite reduction of e^x, x = n·ln2 + r with |r| ≤ ln2/2 (and a rounding), for
/// slkd_exp_float and slkd_tanh_large: n is x·log2(e) rounded to an integer, held in the low bits
/// of `*shifted` for slkd_pow2_of_rounded; ln 2 in two parts, so that n·0.693359375 is exact.
SLKD_INLINE float slkd_exp_reduce(float x, float *shifted) {
    const float s = x * 1.44269504088896341f + SLKD_ROUND_MAGIC;
    const float n = s - SLKD_ROUND_MAGIC;
    const float r = x - n * 0.693359375f;
    *shifted = s;
    return r - n * -2.12194440e-4f;
}

/// Where slkd_exp_float runs: every result there is a normal float (e^−87 > 2^−126) and 2^n
/// fits the exponent field (n ≤ 127). False for NaN.
SLKD_INLINE int slkd_exp_float_in_range(float x) { return x >= -87.0f && x <= 88.0f; }

/// e^x for −87 ≤ x ≤ 88 in float lanes: within 1 ulp of the exact value (0.990 ulp measured over
/// every float of the range), equal to expf for 99.2 % of them.
///
/// Why not expf's bits (slkd_exp_core in double lanes, which Tensor.exp returned up to now): that
/// takes two double vectors and a table lookup per float vector, and its lookup has no fast form
/// on AVX2 (a gather, or eight permutes); it ran at 1.2–1.9× the time of PyTorch, which evaluates
/// Sleef's 1-ulp float exp. Here: Cody–Waite reduction x = n·ln2 + r with ln 2 in two parts
/// (n·0.693359375 is exact), Cephes' degree-6 polynomial on |r| ≤ ln2/2 (the coefficients of
/// AttentionBody.h's slkd_attn_exp, which fuses its multiply–adds on the wide paths and so cannot
/// share this code), and 2^n built in the exponent field.
/// Every product and sum is rounded on its own (contraction is off), so every path gives the
/// same bits. Lanes outside the range are clamped only to stay finite; the caller replaces them.
SLKD_INLINE float slkd_exp_float(float x) {
    const float clamped = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float shifted;
    const float r = slkd_exp_reduce(clamped, &shifted);
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r;
    p = p + 1.0f;
    return p * slkd_pow2_of_rounded(shifted);
}

/// The lanes of a block outside slkd_exp_float's range get expf's bits: from exp_core in double
/// lanes when none of the block is above 88 or NaN (a softmax under Uformer's −100 shift mask, or
/// underflow), else one by one.
SLKD_INLINE void slkd_exp_block_outside(const float *x, float *dst) {
    if (!slkd_any_out_of_range(x, SLKD_BLOCK)) {
        for (size_t j = 0; j < SLKD_BLOCK; j++) dst[j] = slkd_exp_float_in_range(x[j]) ? dst[j] : slkd_exp_fast(x[j]);
    } else {
        for (size_t j = 0; j < SLKD_BLOCK; j++) {
            if (!slkd_exp_float_in_range(x[j])) dst[j] = slkd_exp_scalar(x[j]);
        }
    }
}

/// One block of SLKD_BLOCK lanes: slkd_exp_float on every lane while noting lanes out of its
/// range, then those lanes again. x and y must not overlap, so the loop vectorises with no
/// overlap check (with one, an in-place call ran scalar: 29 µs instead of 3 for 4096 floats).
SLKD_INLINE void slkd_exp_block(const float *restrict x, float *restrict y) {
    int outside = 0;
#pragma clang loop interleave_count(4)
    for (size_t j = 0; j < SLKD_BLOCK; j++) {
        outside |= !slkd_exp_float_in_range(x[j]);
        y[j] = slkd_exp_float(x[j]);
    }
    if (outside) slkd_exp_block_outside(x, y);
}

/// Block by block: straight from src when it is not dst; in place (a softmax row), from a copy of
/// each block, so that the block loop keeps its non-overlapping operands. A partial last block is
/// padded with zeros and goes through the same vector loop: the softmax rows of Restormer's
/// attention are 48 long and would otherwise run entirely in a scalar tail.
///
/// Why not always from a copy, as up to now: the copy goes through one stack buffer per thread,
/// and on the 2-core Zen 4 host the worker pool's chunks of a large exp ran 1.6–2.3× slower that way
/// than straight from src (118–164 against 72 µs per eighth of 1.57 M floats, both threads;
/// Docs/Benchmarks.md, tenth session), which the same bits now avoid.
SLKD_INLINE void slkd_exp_body(const float *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + SLKD_BLOCK <= n; i += SLKD_BLOCK) {
        float copy[SLKD_BLOCK];
        const float *x = src + i;
        if (src == dst) x = memcpy(copy, x, sizeof copy);
        slkd_exp_block(x, dst + i);
    }
    if (i < n) {
        float x[SLKD_BLOCK] = {0}, y[SLKD_BLOCK];
        memcpy(x, src + i, (n - i) * sizeof(float));
        slkd_exp_block(x, y);
        memcpy(dst + i, y, (n - i) * sizeof(float));
    }
}

/// The sigmoid from e = exp(−|x|): 1 / (1 + e) for x ≥ 0, e / (1 + e) for x < 0 (no overflow).
SLKD_INLINE float slkd_sigmoid_from(float x, float e) {
    float denominator = 1.0f + e;
    return x < 0 ? e / denominator : 1.0f / denominator;
}

/// The same with glibc's expf, for the arguments the fast form leaves out (|x| > 87, NaN).
SLKD_INLINE float slkd_sigmoid_scalar(float x) {
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

SLKD_INLINE int slkd_sigmoid_in_range(float x) { return fabsf(x) <= 87.0f; }

/// For |x| ≤ 87, e comes from slkd_exp_float (within 1 ulp, all in float): the sigmoid is within
/// 2.5 ulp of the exact value, as the expf form is (measured: 2.33 ulp over every 7th float of
/// [−87, 87], the same worst case as before). Up to now e came from the GELU kernels' exp
/// (degree-8 Taylor, within 1.2 ulp); Cephes' degree-6 form has four operations fewer per lane,
/// and took the sigmoid from 1.27 to 1.10 ms (1.57 M floats, one thread, the same block loop).
SLKD_INLINE float slkd_sigmoid_fast(float x) {
    return slkd_sigmoid_from(x, slkd_exp_float(-fabsf(x)));
}

/// One block of SLKD_BLOCK lanes: the fast form on every lane while noting lanes out of its range,
/// then those few lanes again with expf. x and y must not overlap (see slkd_exp_block).
SLKD_INLINE void slkd_sigmoid_block(const float *restrict x, float *restrict y) {
    int bad = 0;
#pragma clang loop interleave_count(4)
    for (size_t j = 0; j < SLKD_BLOCK; j++) {
        bad |= !slkd_sigmoid_in_range(x[j]);
        y[j] = slkd_sigmoid_fast(x[j]);
    }
    if (bad) {
        for (size_t j = 0; j < SLKD_BLOCK; j++) {
            if (!slkd_sigmoid_in_range(x[j])) y[j] = slkd_sigmoid_scalar(x[j]);
        }
    }
}

/// As slkd_exp_body: straight from src when it is not dst, else from a copy of each block (in
/// place over src the loop ran scalar: 25 µs instead of 3 for 4096 floats).
SLKD_INLINE void slkd_sigmoid_body(const float *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + SLKD_BLOCK <= n; i += SLKD_BLOCK) {
        float copy[SLKD_BLOCK];
        const float *x = src + i;
        if (src == dst) x = memcpy(copy, x, sizeof copy);
        slkd_sigmoid_block(x, dst + i);
    }
    for (; i < n; i++) dst[i] = slkd_sigmoid_in_range(src[i]) ? slkd_sigmoid_fast(src[i]) : slkd_sigmoid_scalar(src[i]);
}

/// tanh for 0 ≤ a < 3/4: a + a·s·P(s), s = a², P a degree-5 minimax fit of (tanh a − a)/a³ with
/// float coefficients (relative error 2^-29.1 on [0, 3/4]). The correction a·s·P is at most a
/// tenth of the result there, so its few roundings stay well under half an ulp of it.
SLKD_INLINE float slkd_tanh_small(float a) {
    const float s = a * a;
    float p = 1.741756685e-03f;
    p = p * s + -7.665812504e-03f;
    p = p * s + 2.145779319e-02f;
    p = p * s + -5.389453471e-02f;
    p = p * s + 1.333272010e-01f;
    p = p * s + -3.333331645e-01f;
    return a + a * (s * p);
}

/// tanh for a ≥ 3/4 (NaN stays NaN): 1 − 2/(e^2a + 1) with the error of each step kept out of
/// the result's one rounding. a is clamped to 9.5, where tanh is 1 in float (1 − tanh 9.5 < 2^-26).
/// e^2a = 2^n·(1 + v): Cody–Waite reduction as in slkd_exp_float, v = expm1(r) = r + r²·Q(r)
/// (degree-4 minimax Q, absolute error 2^-28.2 on |r| ≤ ln2/2); e^2a itself is never rounded:
/// d = (2^n + 1) + 2^n·v and its rounding error d_low come from a Fast2Sum (2^n + 1 and 2^n·v are
/// exact). u = 2/d rounded, u·d_low/d corrects for d_low, and w + w_low = 1 − u exactly (Fast2Sum:
/// u < 1). What remains is the rounding of u (a quarter of the result's ulp at most, as u < 0.37)
/// and of the final sum.
SLKD_INLINE float slkd_tanh_large(float a) {
    const float clamped = a > 9.5f ? 9.5f : a;
    float shifted;
    const float r = slkd_exp_reduce(clamped + clamped, &shifted);
    float q = 1.394187100e-03f;
    q = q * r + 8.368677460e-03f;
    q = q * r + 4.166638851e-02f;
    q = q * r + 1.666652113e-01f;
    q = q * r + 0.5f;
    const float v = q * (r * r) + r;
    const float scale = slkd_pow2_of_rounded(shifted);
    const float scale_plus_1 = scale + 1.0f, scaled_v = scale * v;
    const float d = scale_plus_1 + scaled_v;
    const float d_low = scaled_v - (d - scale_plus_1);
    const float u = 2.0f / d;
    const float correction = u * (u * d_low) * 0.5f;
    const float w = 1.0f - u;
    const float w_low = (1.0f - w) - u;
    return w + (w_low + correction);
}

/// tanh in float lanes, within 1 ulp of the exact value: 0.894 ulp at most over every float
/// (checked against libm's double tanh for all 2^32 bit patterns), ±0, ±1 for ±∞ and |x| ≥ 9.5,
/// NaN stays NaN. Both halves are evaluated on |x| and the sign is put back at the end (so
/// tanh(−0) = −0).
///
/// Why not double lanes (the kernel up to now: a Taylor series below 1/4, else 1 − 2/(e^2|x| + 1)
/// with slkd_exp_core's table exp and a double divide, rounded once): two double vectors per float
/// vector, a gather and two double divides per 16 floats took 2.2 ms for 1.57 M floats (one
/// thread, AVX-512); this takes 1.16 ms. The split at 3/4 is where both halves stay under 1 ulp:
/// the polynomial's roundings pass 1 ulp near 0.91, and the quotient's rounding, unremoved here,
/// passes it below 0.6.
SLKD_INLINE float slkd_tanh_scalar(float x) {
    const float a = fabsf(x);
    const float t = a < 0.75f ? slkd_tanh_small(a) : slkd_tanh_large(a);
    return copysignf(t, x);
}

SLKD_INLINE void slkd_tanh_body(const float *src, float *dst, size_t n) {
    // In place over one pointer, as slkd_gelu_body: the overlap check fails for src == dst.
    if (dst == src) {
#pragma clang loop interleave_count(4)
        for (size_t i = 0; i < n; i++) dst[i] = slkd_tanh_scalar(dst[i]);
        return;
    }
#pragma clang loop interleave_count(4)
    for (size_t i = 0; i < n; i++) dst[i] = slkd_tanh_scalar(src[i]);
}

/// Swift's `min`/`max` (NaN in the first argument stays NaN), so the results match SLKDTensor's.
SLKD_INLINE float slkd_swift_max(float x, float y) { return y >= x ? y : x; }
SLKD_INLINE float slkd_swift_min(float x, float y) { return y < x ? y : x; }

/// `SpecialFunctions.erfForActivation` for Float: the same rational minimax form, operation for
/// operation (the constants are its Float literals, written as hex).
SLKD_INLINE float slkd_erf_activation(float x) {
    float v = slkd_swift_min(slkd_swift_max(x, -4.0f), 4.0f);
    float v2 = v * v;
    float p = -0x1.2bbe16p-32f;
    p = v2 * p + 0x1.dbffdcp-26f;
    p = v2 * p + -0x1.19fea2p-19f;
    p = v2 * p + -0x1.dd85a4p-15f;
    p = v2 * p + -0x1.8158c6p-11f;
    p = v2 * p + -0x1.8343ecp-9f;
    p = v2 * p + -0x1.07b7a8p-6f;
    float q = -0x1.e8c19ap-17f;
    q = v2 * q + -0x1.bf7a52p-13f;
    q = v2 * q + -0x1.b9249cp-10f;
    q = v2 * q + -0x1.e337fp-8f;
    q = v2 * q + -0x1.d36d4ep-7f;
    return v * p / q;
}

/// `SpecialFunctions.expOfNonPositiveForActivation` for Float, operation for operation.
SLKD_INLINE float slkd_exp_nonpositive_activation(float y) {
    float v = slkd_swift_max(y, -87.0f);
    float shifted = v * 0x1.715476p+0f + SLKD_ROUND_MAGIC;
    float k = shifted - SLKD_ROUND_MAGIC;
    float r = (v - k * 0x1.62e4p-1f) - k * 0x1.7f7d1cp-20f;
    float p = 0x1.a01a02p-13f;
    p = p * r + 0x1.6c16c2p-10f;
    p = p * r + 0x1.111112p-7f;
    p = p * r + 0x1.555556p-5f;
    p = p * r + 0x1.555556p-3f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return p * slkd_pow2_of_rounded(shifted);
}

/// 1/√2 and √(2π) as SLKDTensor computes them in Float (Swift's Float.pi is rounded down).
#define SLKD_INV_SQRT2 0x1.6a09e6p-1f
#define SLKD_SQRT_2PI 0x1.40d932p+1f

SLKD_INLINE float slkd_gelu_scalar(float x) {
    return x * (1.0f + slkd_erf_activation(x * SLKD_INV_SQRT2)) / 2.0f;
}

SLKD_INLINE float slkd_gelu_derivative_scalar(float x) {
    float cdf = (1.0f + slkd_erf_activation(x * SLKD_INV_SQRT2)) / 2.0f;
    float density = slkd_exp_nonpositive_activation(-x * x / 2.0f) / SLKD_SQRT_2PI;
    return cdf + x * density;
}

SLKD_INLINE void slkd_gelu_body(const float *src, float *dst, size_t n) {
    // In place, the loop runs over one pointer: with two equal ones the vectoriser's runtime
    // overlap check fails and the whole call would run scalar. Same operations, same bits.
    if (dst == src) {
#pragma clang loop interleave_count(4)
        for (size_t i = 0; i < n; i++) dst[i] = slkd_gelu_scalar(dst[i]);
        return;
    }
#pragma clang loop interleave_count(4)
    for (size_t i = 0; i < n; i++) dst[i] = slkd_gelu_scalar(src[i]);
}

SLKD_INLINE void slkd_gelu_backward_body(const float *g, const float *x, float *dst, size_t n) {
#pragma clang loop interleave_count(4)
    for (size_t i = 0; i < n; i++) dst[i] = g[i] * slkd_gelu_derivative_scalar(x[i]);
}

/// The backward of the gate y = gelu(a)·b in one pass: ga = (g·gelu′(a))·b and gb = g·gelu(a),
/// each with the operations and roundings of slkd_gelu_backward_body (resp. slkd_gelu_body)
/// followed by the product, so the same bits as the unfused kernels; erf(a/√2) is computed once
/// for both. The outputs must not overlap each other or the inputs.
SLKD_INLINE void slkd_gelu_gate_backward_body(const float *restrict g, const float *restrict a,
                                              const float *restrict b, float *restrict ga,
                                              float *restrict gb, size_t n) {
#pragma clang loop interleave_count(4)
    for (size_t i = 0; i < n; i++) {
        float x = a[i];
        float erf = slkd_erf_activation(x * SLKD_INV_SQRT2);
        float cdf = (1.0f + erf) / 2.0f;
        float density = slkd_exp_nonpositive_activation(-x * x / 2.0f) / SLKD_SQRT_2PI;
        ga[i] = g[i] * (cdf + x * density) * b[i];
        gb[i] = g[i] * (x * (1.0f + erf) / 2.0f);
    }
}

/// The backward above and Σ dst in one pass, with the sum kernel's lanes and order (so the sum
/// equals slkd_sum_body(dst, n) bit for bit): the bias gradient of a Linear + GELU row. dst must
/// not overlap g or x.
SLKD_INLINE float slkd_gelu_backward_sum_body(const float *restrict g, const float *restrict x,
                                              float *restrict dst, size_t n) {
    float acc[SLKD_SUM_LANES] = {0};
    size_t i = 0;
    for (; i + SLKD_SUM_LANES <= n; i += SLKD_SUM_LANES) {
#pragma clang loop interleave_count(4)
        for (size_t j = 0; j < SLKD_SUM_LANES; j++) {
            float v = g[i + j] * slkd_gelu_derivative_scalar(x[i + j]);
            dst[i + j] = v;
            acc[j] += v;
        }
    }
    for (size_t j = 0; i < n; i++, j++) {
        float v = g[i] * slkd_gelu_derivative_scalar(x[i]);
        dst[i] = v;
        acc[j] += v;
    }
    return slkd_sum_fold(acc);
}

#endif
