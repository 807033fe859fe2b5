// Element-wise float32 math kernels and the float sum, compiled three times (AVX-512, AVX2+FMA,
// the SSE2 baseline) and chosen once at start-up from the CPU's features; SLKD_SIMD=baseline|avx2|avx512 forces a
// path. Every path returns the same bits: the kernels use no fused multiply-adds and no
// reassociation, so the vector widths change the speed only.
#ifndef CSLKD_KERNELS_H
#define CSLKD_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction sets a kernel is compiled for, in increasing width.
typedef enum __attribute__((enum_extensibility(closed))) SLKDSIMDPath {
    SLKDSIMDPathBaseline = 0,
    SLKDSIMDPathAVX2 = 1,
    SLKDSIMDPathAVX512 = 2,
} SLKDSIMDPath;

/// How a requested path (the SLKD_SIMD value) was honoured.
typedef enum __attribute__((enum_extensibility(closed))) SLKDSIMDRequest {
    /// No request (unset or empty): the widest path the CPU has.
    SLKDSIMDRequestNone = 0,
    /// The requested path, which the CPU has.
    SLKDSIMDRequestGranted = 1,
    /// A name that is none of baseline, avx2, avx512: the widest path the CPU has.
    SLKDSIMDRequestUnknown = 2,
    /// A path the CPU lacks: the widest path it has.
    SLKDSIMDRequestUnsupported = 3,
} SLKDSIMDRequest;

/// The widest path this CPU runs (AVX-512 needs F, BW, VL and DQ; AVX2 needs FMA too).
SLKDSIMDPath slkd_simd_best_supported(void);

/// The path for a SLKD_SIMD value (NULL when unset) on a CPU whose widest path is `best`; a pure
/// function. `outcome` (may be NULL) says whether the request was honoured.
SLKDSIMDPath slkd_simd_resolve(const char *_Nullable requested, SLKDSIMDPath best,
                               SLKDSIMDRequest *_Nullable outcome);

/// The path the kernels run on now (chosen on first use from SLKD_SIMD and the CPU).
SLKDSIMDPath slkd_simd_active(void);

/// Switches every kernel to `path`, which must not be wider than `slkd_simd_best_supported()`
/// (a wider one is clamped to it). For tests and benchmarks.
void slkd_simd_use(SLKDSIMDPath path);

/// The OpenBLAS kernel set ("SkylakeX", "Haswell", …) to ask for instead of `current` on a CPU
/// whose widest path is `widest`, or NULL to keep it; a pure function. Only a set that uses neither
/// AVX2 nor FMA (the Prescott fallback of an OpenBLAS older than the CPU, among others) is
/// replaced, and never when `requested` (the OPENBLAS_CORETYPE value, NULL when unset) names one.
const char *_Nullable slkd_openblas_core_replacement(const char *_Nullable current, SLKDSIMDPath widest,
                                                     const char *_Nullable requested);
/// OpenBLAS's name for the kernel set it runs now, or NULL when the BLAS is not OpenBLAS.
const char *_Nullable slkd_openblas_core(void);
/// The kernel set OpenBLAS had chosen itself when SLKD replaced it as the program loaded
/// (slkd_openblas_core_replacement), or NULL when it kept OpenBLAS's choice.
const char *_Nullable slkd_openblas_replaced_core(void);

/// dst[i] = exp(src[i]): within 1 ulp of the exact value, the same bits on every path (float lanes
/// for −87 ≤ x ≤ 88, glibc's expf bit for bit outside). src equals dst or does not overlap it.
void slkd_exp_f32(const float *_Nonnull src, float *_Nonnull dst, size_t count);
/// dst[i] = 1 / (1 + exp(−x)), as x ≥ 0 ? 1 / (1 + e) : e / (1 + e) with e = exp(−|x|) in float
/// (within 2.5 ulp of the exact value). src equals dst or does not overlap it.
void slkd_sigmoid_f32(const float *_Nonnull src, float *_Nonnull dst, size_t count);
/// dst[i] = tanh(src[i]) in float lanes with compensated steps: within 1 ulp of the exact value
/// (0.894 ulp at most over every float), tanh(−0) = −0, ±1 from |x| ≥ 9.5 and for ±∞, NaN stays NaN.
void slkd_tanh_f32(const float *_Nonnull src, float *_Nonnull dst, size_t count);
/// dst[i] = x·(1 + erf(x/√2))/2 with SLKDTensor's rational erf (`SpecialFunctions.erfForActivation`).
void slkd_gelu_f32(const float *_Nonnull src, float *_Nonnull dst, size_t count);
/// dst[i] = g[i]·gelu′(x[i]), gelu′(x) = Φ(x) + x·φ(x), with SLKDTensor's erf and exp of the GELU
/// kernels (`SpecialFunctions.erfForActivation`, `expOfNonPositiveForActivation`).
void slkd_gelu_backward_f32(const float *_Nonnull g, const float *_Nonnull x, float *_Nonnull dst,
                            size_t count);
/// slkd_gelu_backward_f32 and the sum of its output in one pass: returns Σ dst, equal bit for bit
/// to slkd_sum_f32(dst, count). dst must not overlap g or x. (The fused Linear + GELU backward:
/// gz = g·gelu′(z) and its row sum, the bias gradient.)
float slkd_gelu_backward_sum_f32(const float *_Nonnull g, const float *_Nonnull x, float *_Nonnull dst,
                                 size_t count);

/// The GDFN gate's backward (y = gelu(a)·b) in one pass: ga[i] = g[i]·gelu′(a[i])·b[i] and
/// gb[i] = g[i]·gelu(a[i]), with the same bits as slkd_gelu_backward_f32 followed by the product
/// with b, and slkd_gelu_f32 followed by the product with g. ga and gb must not overlap each
/// other or the inputs.
void slkd_gelu_gate_backward_f32(const float *_Nonnull g, const float *_Nonnull a, const float *_Nonnull b,
                                 float *_Nonnull ga, float *_Nonnull gb, size_t count);
/// Σ src[0 ..< count] with 64 partial sums in a fixed order (the same bits on every path).
float slkd_sum_f32(const float *_Nonnull src, size_t count);

/// Input rows of a stride-1 direct convolution, padded with zeros left and right so that every
/// output column reads in-range memory: channel ci's input row r starts at
/// rows + (ci·height + r)·row_width.
typedef struct SLKDConvRows {
    const float *_Nonnull rows;
    size_t row_width, height, channels;
    size_t kernel_h, kernel_w, dilation_h, dilation_w;
} SLKDConvRows;

/// `count` consecutive output rows that share the kernel-row range [kh_lo, kh_hi): for r < count
/// and j < width (a multiple of 8),
/// out[r·out_stride + j] = bias + Σ_{kh ∈ [kh_lo, kh_hi)} Σ_{ci} Σ_{kw} kernel[(ci·kernel_h + kh)·kernel_w + kw]
///          · row(ci, first_row + r + kh·dilation_h)[j + kw·dilation_w],
/// summed in that order (the same bits on every path). The caller keeps every row read in range.
void slkd_conv_rows_f32(const SLKDConvRows *_Nonnull rows, const float *_Nonnull kernel, float bias,
                        ptrdiff_t first_row, size_t kh_lo, size_t kh_hi, size_t count, float *_Nonnull out,
                        size_t out_stride, size_t width);

/// One h×w plane of a depthwise 3×3 convolution with "same" padding (Restormer's `qkv_dwconv` and
/// GDFN convolutions): dst = bias + the nine taps of src, `zero` (w zeros) standing in for the
/// rows outside the plane. Interior outputs sum bias then taps (0,0), (0,1) … (2,2); the two edge
/// columns sum the centre column's taps first. The same bits on every path.
void slkd_depthwise3x3_plane_f32(const float *_Nonnull src, const float *_Nonnull kernel, float bias,
                                 float *_Nonnull dst, size_t height, size_t width, const float *_Nonnull zero);

/// The nine weight-gradient taps of a depthwise 3×3 "same" convolution from one h×w plane pair:
/// taps[kh·3 + kw] += Σ_{i,j} gradient[i][j]·input[i − 1 + kh][j − 1 + kw] over the terms inside
/// the plane, in one pass over the gradient. Sixteen fixed lanes per tap (lane l adds columns
/// l, l + 16, …, row by row), summed as a fixed tree: the same bits on every path.
void slkd_depthwise3x3_weight_gradient_f32(const float *_Nonnull gradient, const float *_Nonnull input, size_t height,
                                           size_t width, float *_Nonnull taps);

/// LayerNorm over channels for `lanes` lanes side by side (channel c of lane j at x[c·stride + j]):
/// y = (x − μ)·r·w + b (centred) or x·r·w + b (BiasFree), r = 1/√(σ² + eps), with the operations
/// and order of SLKDTensor's generic kernel (its bits for Float, on every path). Writes (μ, r) of
/// lane j to stats[2j], stats[2j + 1]. A null weight stands for 1, a null bias for 0.
void slkd_channel_norm_forward_f32(const float *_Nonnull x, float *_Nonnull y, size_t channels, size_t stride,
                                   size_t lanes, const float *_Nullable weight, const float *_Nullable bias, int centred,
                                   float eps, double *_Nonnull stats);

/// The input gradient of `slkd_channel_norm_forward_f32`'s lanes from their stats (same layout).
void slkd_channel_norm_backward_f32(const float *_Nonnull gradient, const float *_Nonnull x, float *_Nonnull dx,
                                    size_t channels, size_t stride, size_t lanes, const float *_Nullable weight,
                                    int centred, const double *_Nonnull stats);

/// One channel's weight and bias gradients: Σ g·(x − μ)·r (centred) or Σ g·x·r, and Σ g, over
/// `outer` slices of `inner` lanes (the channel's values at x[o·slice + i]); mean and rstd per
/// lane o·inner + i. Sixteen fixed lanes and a fixed tree: the same bits on every path.
void slkd_channel_norm_parameter_gradients_f32(const float *_Nonnull gradient, const float *_Nonnull x, size_t outer,
                                               size_t inner, size_t slice, const float *_Nonnull mean,
                                               const float *_Nonnull rstd, int centred,
                                               float *_Nonnull weight_gradient, float *_Nonnull bias_gradient);

/// Uformer's attention for one (image, window, head) block of N tokens and d channels: q, k, v
/// and `out` are d×N tiles with row stride `row_stride` (channels by tokens); `bias`, `mask` (or
/// null) and `probabilities` are N×N as [key][query]. probabilities = softmax over keys of
/// kᵀ·q + bias (+ mask), out = v·probabilities. `work` holds 2N + 3dN floats. The products sum
/// over their inner dimension in order, fused multiply–adds on the AVX2 and AVX-512 paths (the
/// baseline's bits differ from theirs in the last places).
void slkd_window_attention_forward_f32(const float *_Nonnull q, const float *_Nonnull k, const float *_Nonnull v,
                                       size_t row_stride, size_t head_dim, size_t tokens, const float *_Nonnull bias,
                                       const float *_Nullable mask, float *_Nonnull probabilities, float *_Nonnull out,
                                       float *_Nonnull work);

/// The block's backward from its probabilities and output gradient (a d×N tile): dv = g·Pᵀ and,
/// when `logits` is non-zero, dS = P ⊙ (vᵀ·g − Σ_keys P ⊙ vᵀ·g), bias_gradient += dS, dq = k·dS,
/// dk = q·dSᵀ. dq, dk, dv are d×N tiles with row stride `row_stride`. `work` holds 2N² + N + 4dN
/// floats.
void slkd_window_attention_backward_f32(const float *_Nonnull q, const float *_Nonnull k, const float *_Nonnull v,
                                        const float *_Nonnull gradient, size_t row_stride, size_t head_dim,
                                        size_t tokens, const float *_Nonnull probabilities, float *_Nonnull dq,
                                        float *_Nonnull dk, float *_Nonnull dv, float *_Nonnull bias_gradient,
                                        int logits, float *_Nonnull work);

// Page-granular blocks for the tensor memory cache (Blocks.c): anonymous private mappings that
// the cache can resize in place of freeing one and faulting in another.

/// A fresh mapping of `bytes` (a multiple of the page size), zero-filled; NULL when the system
/// refuses it.
void *_Nullable slkd_block_map(size_t bytes);
/// Returns a mapping from slkd_block_map or slkd_block_resize to the system.
void slkd_block_unmap(void *_Nonnull block, size_t bytes);
/// The mapping `block` of `bytes` resized to `new_bytes`, possibly moved, keeping its resident
/// pages up to the smaller size (Linux `mremap`; elsewhere a fresh mapping, the old one freed);
/// NULL when the system refuses it, in which case `block` is unchanged.
void *_Nullable slkd_block_resize(void *_Nonnull block, size_t bytes, size_t new_bytes);

/// Floats of the packed weight that slkd_linear_pack_f32 writes for a rows×depth weight.
size_t slkd_linear_packed_count_f32(size_t rows, size_t depth);
/// Packs panels [first_panel, first_panel + panels) of 8 rows of the rows×depth weight (rows past
/// the last are zeros) for slkd_linear_columns_f32_avx512. `weight` is that matrix row-major, or
/// when `transposed` its transpose (depth×rows) row-major, as for an input gradient Wᵀ·g.
/// AVX-512 only, like slkd_linear_columns_f32_avx512.
void slkd_linear_pack_f32(const float *_Nonnull weight, size_t rows, size_t depth, int transposed,
                          size_t first_panel, size_t panels, float *_Nonnull packed);
/// Columns [first_column, first_column + columns) of out = act(W·X + bias (+ residual)) for one
/// image: W rows×depth packed by slkd_linear_pack_f32, X depth×L and out and residual rows×L, all
/// with row stride `ldx` = L; bias [rows] or NULL; residual or NULL; act is exact GELU (the same
/// bits as slkd_gelu_f32) when `gelu` is nonzero. AVX-512 only: call it only when the CPU has it.
void slkd_linear_columns_f32_avx512(const float *_Nonnull packed, size_t rows, size_t depth,
                                    const float *_Nonnull x, size_t ldx, const float *_Nullable bias,
                                    const float *_Nullable residual, int gelu, float *_Nonnull out,
                                    size_t first_column, size_t columns);

/// Runs function(context, i) for every i in 0 ..< chunks on the calling thread and up to
/// `workers − 1` pool threads (started on first use; they spin for a short while after each
/// region, then sleep). Returns 0 when the region ran, −1 when the pool cannot take it (another
/// thread's region is running, fewer than two workers, or no pool on this system), in which case
/// nothing ran. Chunks may run concurrently and in any order.
int slkd_pool_run(long workers, long chunks, void (*_Nonnull function)(void *_Nullable, long),
                  void *_Nullable context);
/// How long an idle pool thread spins before it sleeps (default 100 µs; 0 sleeps at once).
void slkd_pool_set_spin_microseconds(long microseconds);
/// The current spin time in microseconds.
long slkd_pool_spin_microseconds(void);

#ifdef __cplusplus
}
#endif

#endif
