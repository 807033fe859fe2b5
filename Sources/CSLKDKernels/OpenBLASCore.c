// Checks, when the program loads, that OpenBLAS runs kernels as wide as the CPU, and asks it to
// choose again by name when it does not.
//
// Why: a DYNAMIC_ARCH OpenBLAS (Debian's, every distribution's) picks its kernels once, when it
// loads, from the CPU's vendor, family and model. A release older than the CPU does not know the
// model and falls back to its Prescott kernels, SSE3 only. Debian 12's OpenBLAS 0.3.21 does that
// on a 5th-generation Xeon (family 6, model 207, AVX-512): sgemm_1024 ran at 50 GFLOP/s on two
// cores where its SkylakeX kernels reach about 200 (Docs/Benchmarks.md, "OpenBLAS's kernels on a
// CPU it does not know"). Every SLKD product goes through OpenBLAS, so every model ran at a
// fraction of its speed, silently.
//
// The replacement runs as a constructor: after OpenBLAS's own (the shared library is initialised
// before the program that links it) and before main, so no thread can be inside a BLAS call while
// the kernel table is swapped. It goes through OpenBLAS's exported functions only, the same path as
// OPENBLAS_CORETYPE at load: gotoblas_dynamic_quit() clears the choice and gotoblas_dynamic_init()
// makes it again, reading OPENBLAS_CORETYPE, which is set for that call and then removed. A user's
// own OPENBLAS_CORETYPE is left alone. The symbols are weak, so an OpenBLAS built for one CPU
// (without DYNAMIC_ARCH) is simply not touched.
#include "CSLKDKernels.h"

#include <stdlib.h>
#include <string.h>

extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/// OpenBLAS's names for its x86-64 kernel sets that use neither AVX2 nor FMA: Intel's up to
/// Sandy Bridge, AMD's up to Steamroller and VIA's Nano. A name not listed (a newer set, or
/// "Unknown") is kept.
static const char *const slkd_narrow_cores[] = {
    "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Core2", "Penryn", "Dunnington", "Nehalem",
    "Atom", "Sandybridge", "Athlon", "Opteron", "Opteron(SSE3)", "Barcelona", "Bobcat", "Bulldozer",
    "Piledriver", "Steamroller", "Nano",
};

const char *slkd_openblas_core_replacement(const char *current, SLKDSIMDPath widest, const char *requested) {
    if (current == NULL) return NULL;
    if (requested != NULL && requested[0] != '\0') return NULL;
    int narrow = 0;
    for (size_t i = 0; i < sizeof slkd_narrow_cores / sizeof slkd_narrow_cores[0]; i++) {
        if (strcmp(current, slkd_narrow_cores[i]) == 0) narrow = 1;
    }
    if (!narrow) return NULL;
    switch (widest) {
    case SLKDSIMDPathAVX512: return "SkylakeX";
    case SLKDSIMDPathAVX2: return "Haswell";
    default: return NULL;
    }
}

/// The core OpenBLAS had chosen when the constructor replaced it (a string literal of OpenBLAS's),
/// or NULL. Written once, before main.
static const char *slkd_openblas_replaced;

const char *slkd_openblas_core(void) {
    return openblas_get_corename ? openblas_get_corename() : NULL;
}

const char *slkd_openblas_replaced_core(void) { return slkd_openblas_replaced; }

__attribute__((constructor)) static void slkd_openblas_choose_core(void) {
    if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return;
    const char *current = openblas_get_corename();
    const char *wanted = slkd_openblas_core_replacement(current, slkd_simd_best_supported(),
                                                        getenv("OPENBLAS_CORETYPE"));
    if (wanted == NULL) return;
    if (setenv("OPENBLAS_CORETYPE", wanted, 1) != 0) return;
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    // An OpenBLAS built without AVX-512 kernels maps SkylakeX to its Haswell set: any change is one.
    const char *now = openblas_get_corename();
    if (now != NULL && strcmp(now, current) != 0) slkd_openblas_replaced = current;
}
