// exp for the AVX-512 path, written with intrinsics for one reason: the 32-entry
// table of 2^(i/32). The auto-vectorised bodies of MathBodies.h read it with a gather, which
// measured 40 % of exp's time on this machine's AVX-512 CPU (and made AVX2 barely faster than
// SSE2). Here two two-source permutes and a blend read it from registers. The arithmetic is
// slkd_exp_core's, operation for operation and without contraction, so the bits are the same as
// on the other paths (SIMDPathTests checks it).
#pragma clang fp contract(off)

#include "ExpAVX512.h"
#include "MathBodies.h"

#include <immintrin.h>

#define SLKD_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"), always_inline))

/// The table as four registers of eight entries.
typedef struct { __m512i t0, t1, t2, t3; } SLKDExpTable;

static inline SLKD_AVX512 SLKDExpTable slkd_exp_table_load(void) {
    SLKDExpTable t = {
        _mm512_loadu_si512(slkd_exp2_table), _mm512_loadu_si512(slkd_exp2_table + 8),
        _mm512_loadu_si512(slkd_exp2_table + 16), _mm512_loadu_si512(slkd_exp2_table + 24),
    };
    return t;
}

/// slkd_exp_core on eight doubles.
static inline SLKD_AVX512 __m512d slkd_exp8(__m512d x, SLKDExpTable t) {
    const __m512d inv_ln2_n = _mm512_set1_pd(0x1.71547652b82fep+0 * 32.0);
    const __m512d inv_ln2_n_hi = _mm512_set1_pd(0x1.7154765p+5), inv_ln2_n_lo = _mm512_set1_pd(0x1.5c17fp-26);
    const __m512d shift = _mm512_set1_pd(0x1.8p+52);
    const __m512d c0 = _mm512_set1_pd(0x1.c6af84b912394p-5 / 32 / 32 / 32);
    const __m512d c1 = _mm512_set1_pd(0x1.ebfce50fac4f3p-3 / 32 / 32);
    const __m512d c2 = _mm512_set1_pd(0x1.62e42ff0c52d6p-1 / 32);
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d shifted = _mm512_add_pd(_mm512_mul_pd(inv_ln2_n, x), shift);
    __m512i k = _mm512_castpd_si512(shifted);
    __m512d kd = _mm512_sub_pd(shifted, shift);
    __m512d r = _mm512_add_pd(_mm512_sub_pd(_mm512_mul_pd(inv_ln2_n_hi, x), kd), _mm512_mul_pd(inv_ln2_n_lo, x));
    // Entries 0–15 and 16–31 by index bits 0–3, then bit 4 picks between them.
    __m512i low = _mm512_permutex2var_epi64(t.t0, k, t.t1);
    __m512i high = _mm512_permutex2var_epi64(t.t2, k, t.t3);
    __mmask8 upper = _mm512_test_epi64_mask(k, _mm512_set1_epi64(16));
    __m512i entry = _mm512_mask_blend_epi64(upper, low, high);
    __m512d s = _mm512_castsi512_pd(_mm512_add_epi64(entry, _mm512_slli_epi64(k, 47)));
    __m512d r2 = _mm512_mul_pd(r, r);
    __m512d p = _mm512_add_pd(_mm512_mul_pd(c0, r), c1);
    __m512d y = _mm512_add_pd(_mm512_mul_pd(c2, r), one);
    y = _mm512_add_pd(_mm512_mul_pd(p, r2), y);
    return _mm512_mul_pd(y, s);
}

/// exp of sixteen floats through two halves of eight doubles, rounded to float.
static inline SLKD_AVX512 __m512 slkd_exp16(__m512 x, SLKDExpTable t) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    __m256 ylo = _mm512_cvtpd_ps(slkd_exp8(lo, t)), yhi = _mm512_cvtpd_ps(slkd_exp8(hi, t));
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(ylo)), _mm256_castps_pd(yhi), 1));
}

/// Whether all sixteen lanes are at most 88 (false for NaN): slkd_exp_in_range.
static inline SLKD_AVX512 int slkd_in_range16(__m512 x) {
    return _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.0f), _CMP_LE_OQ) == 0xffff;
}

/// slkd_exp_fast on sixteen lanes: exp16 of the clamped argument, +0 below the underflow.
static inline SLKD_AVX512 __m512 slkd_exp_fast16(__m512 x, SLKDExpTable t) {
    __m512 y = slkd_exp16(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), t);
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(SLKD_EXP_UNDERFLOW), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(under, y, _mm512_setzero_ps());
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
void slkd_exp_f32_avx512_permute(const float *src, float *dst, size_t n) {
    SLKDExpTable t = slkd_exp_table_load();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(src + i);
        if (slkd_in_range16(x)) {
            _mm512_storeu_ps(dst + i, slkd_exp_fast16(x, t));
        } else {
            for (size_t j = i; j < i + 16; j++) dst[j] = slkd_exp_scalar(src[j]);
        }
    }
    for (; i < n; i++) dst[i] = slkd_exp_scalar(src[i]);
}
