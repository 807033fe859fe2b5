// Uformer's Linear shapes, one thread: OpenBLAS's sgemm with the bias written into C first (as
// SLKD's OpenBLAS path does) against SLKD's own AVX-512 kernel (weight packing included), each
// without and with the GELU that follows LeFF's first Linear. Min of 9 runs, milliseconds.
// Needs an AVX-512 CPU. From the repository root:
//
//   clang -O2 -I Sources/CSLKDKernels/include -I Sources/CSLKDKernels \
//     -I /usr/include/x86_64-linux-gnu/openblas-pthread Scripts/bench/linear_kernel_vs_openblas.c \
//     Sources/CSLKDKernels/*.c -o /tmp/linear_vs_openblas -lopenblas -lm -lpthread && /tmp/linear_vs_openblas
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
#include "CSLKDKernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    openblas_set_num_threads(1);
    // outputs × tokens × inputs: Uformer-B's and Ufor-SL's qkv, proj, LeFF linear1 and linear2 by level.
    const long shapes[][3] = {{1536, 256, 512}, {2048, 256, 512}, {512, 256, 2048}, {768, 1024, 256}, {1024, 1024, 256},
                              {256, 1024, 1024}, {384, 4096, 128}, {512, 4096, 128}, {128, 4096, 512}, {192, 16384, 64},
                              {256, 16384, 64}, {64, 16384, 256}, {96, 16384, 32}, {128, 16384, 32}, {32, 16384, 128},
                              {48, 16384, 16}, {64, 16384, 16}, {16, 16384, 64}};
    printf("%-18s %10s %10s %10s %10s %8s\n", "M×N×K", "blas", "blas+gelu", "own", "own+gelu", "own/blas");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const long m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(m * k * 4), *b = malloc(k * n * 4), *c = malloc(m * n * 4), *bias = malloc(m * 4);
        float *packed = malloc(slkd_linear_packed_count_f32(m, k) * 4);
        for (long i = 0; i < m * k; i++) a[i] = rand() / (float)RAND_MAX - 0.5f;
        for (long i = 0; i < k * n; i++) b[i] = rand() / (float)RAND_MAX - 0.5f;
        for (long i = 0; i < m; i++) bias[i] = 0.01f * i;
        double best[4] = {1e9, 1e9, 1e9, 1e9};
        for (int run = 0; run < 9; run++) {
            const double t0 = now();
            for (long i = 0; i < m; i++)
                for (long j = 0; j < n; j++) c[i * n + j] = bias[i];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 1, c, n);
            const double t1 = now();
            slkd_gelu_f32(c, c, m * n);
            const double t2 = now();
            slkd_linear_pack_f32(a, m, k, 0, 0, (m + 7) / 8, packed);
            slkd_linear_columns_f32_avx512(packed, m, k, b, n, bias, NULL, 0, c, 0, n);
            const double t3 = now();
            slkd_linear_pack_f32(a, m, k, 0, 0, (m + 7) / 8, packed);
            slkd_linear_columns_f32_avx512(packed, m, k, b, n, bias, NULL, 1, c, 0, n);
            const double t4 = now();
            const double times[4] = {t1 - t0, t2 - t0, t3 - t2, t4 - t3};
            for (int q = 0; q < 4; q++)
                if (times[q] < best[q]) best[q] = times[q];
        }
        char name[32];
        snprintf(name, sizeof name, "%ld×%ld×%ld", m, n, k);
        printf("%-20s %10.3f %10.3f %10.3f %10.3f %8.2f\n", name, best[0] * 1e3, best[1] * 1e3, best[2] * 1e3,
               best[3] * 1e3, best[2] / best[0]);
        free(a), free(b), free(c), free(bias), free(packed);
    }
    return 0;
}
