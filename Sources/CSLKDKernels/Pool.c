// The worker pool behind Parallel.forChunks (SLKDTensor): persistent threads that spin briefly
// between regions before they sleep on a futex.
//
// Why not libdispatch's concurrentPerform, which Parallel used before: a model's forward opens
// hundreds of short regions (a Ufor-SL forward about 420, one every ~120 µs), and each one woke a
// parked dispatch worker through the kernel. On the 2-core VM that was 4-6 % of the profile in the
// scheduler's wake-up and context-switch paths, and the second core sat idle for the wake-up's
// latency at the start of every region (1.5 of 2 cores busy). A worker that spins for a short
// while after its chunk finds the next region already published, as OpenMP runtimes do.
//
// Protocol. A region is published by bumping `generation` after its function, context and chunk
// count are written. Chunks are claimed through `claim`, which packs the generation in its high
// 32 bits and the next chunk index in its low 32 bits, so that a worker that wakes late cannot
// claim a chunk of a later region with the function of an earlier one: it reads the function
// only after its compare-and-swap on (generation, index) succeeded, and a region's function is
// not replaced before all its chunks are done. One region at a time: a second submitter (another
// thread) gets -1 and runs its region by other means.
#define _GNU_SOURCE
#include "CSLKDKernels.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kMaxWorkers = 255 };

static _Atomic uint32_t generation;          // futex word: bumped once per region
static _Atomic uint64_t claim;               // (generation << 32) | next chunk index
static _Atomic long remaining;               // chunks of the current region not yet finished
static _Atomic int busy;                     // a region is being submitted or run
static _Atomic int sleepers;                 // workers inside (or about to enter) futex_wait
static _Atomic long spin_nanoseconds = 100000;
static void (*job_function)(void *, long);
static void *job_context;
static _Atomic long job_chunks;          // relaxed: only trusted while `claim` names the region

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started_workers;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long monotonic_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000000000L + now.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/// Claims and runs chunks of region `gen` until none is left.
static void run_chunks(uint32_t gen) {
    uint64_t seen = atomic_load_explicit(&claim, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(seen >> 32) != gen) break;
        long index = (long)(uint32_t)seen;
        // A stale count (a later region's) is harmless: the claim below then fails.
        if (index >= atomic_load_explicit(&job_chunks, memory_order_relaxed)) break;
        if (!atomic_compare_exchange_weak_explicit(&claim, &seen, seen + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        // The chunk is ours, so the region cannot end (and its function change) before it is done.
        job_function(job_context, index);
        atomic_fetch_sub_explicit(&remaining, 1, memory_order_acq_rel);
        seen = atomic_load_explicit(&claim, memory_order_acquire);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    uint32_t seen = atomic_load_explicit(&generation, memory_order_acquire);
    for (;;) {
        uint32_t now = atomic_load_explicit(&generation, memory_order_acquire);
        if (now == seen) {
            // Spin for a while: the next region usually comes within microseconds.
            long limit = atomic_load_explicit(&spin_nanoseconds, memory_order_relaxed);
            long start = limit > 0 ? monotonic_nanoseconds() : 0;
            for (unsigned spins = 1;; spins++) {
                now = atomic_load_explicit(&generation, memory_order_acquire);
                if (now != seen || limit <= 0) break;
                cpu_relax();
                if ((spins & 255) == 0 && monotonic_nanoseconds() - start > limit) break;
            }
            if (now == seen) {
                atomic_fetch_add_explicit(&sleepers, 1, memory_order_seq_cst);
                // Re-check after announcing ourselves: a submitter that bumped the generation
                // before it saw us counted would not wake us.
                if (atomic_load_explicit(&generation, memory_order_seq_cst) == seen)
                    futex_wait(&generation, seen);
                atomic_fetch_sub_explicit(&sleepers, 1, memory_order_seq_cst);
                continue;
            }
        }
        seen = now;
        run_chunks(now);
    }
    return NULL;
}

/// Starts workers until `count` exist (never fewer than already started).
static int ensure_workers(long count) {
    if (count > kMaxWorkers) count = kMaxWorkers;
    if (__atomic_load_n(&started_workers, __ATOMIC_ACQUIRE) >= count) return 0;
    pthread_mutex_lock(&start_lock);
    while (started_workers < count) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, NULL);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        __atomic_store_n(&started_workers, started_workers + 1, __ATOMIC_RELEASE);
    }
    int ok = started_workers > 0;
    pthread_mutex_unlock(&start_lock);
    return ok ? 0 : -1;
}

int slkd_pool_run(long workers, long chunks, void (*_Nonnull function)(void *_Nullable, long),
                  void *_Nullable context) {
    if (chunks <= 0) return 0;
    if (chunks > UINT32_MAX / 2 || workers < 2) return -1;
    int expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&busy, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return -1;
    if (ensure_workers(workers - 1) != 0) {
        atomic_store_explicit(&busy, 0, memory_order_release);
        return -1;
    }
    uint32_t gen = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
    // Close the previous region's claims first (its index field at its maximum, which no claim
    // passes), so that a late worker holding the previous claim value cannot claim against the
    // fields written next.
    atomic_store_explicit(&claim, ((uint64_t)gen << 32) | UINT32_MAX, memory_order_seq_cst);
    job_function = function;
    job_context = context;
    atomic_store_explicit(&job_chunks, chunks, memory_order_relaxed);
    atomic_store_explicit(&remaining, chunks, memory_order_relaxed);
    atomic_store_explicit(&claim, (uint64_t)gen << 32, memory_order_release);
    atomic_store_explicit(&generation, gen, memory_order_seq_cst);
    if (atomic_load_explicit(&sleepers, memory_order_seq_cst) > 0) futex_wake_all(&generation);

    run_chunks(gen);
    // Chunks other threads claimed: wait for them, spinning first, then yielding the core.
    for (unsigned spins = 1; atomic_load_explicit(&remaining, memory_order_acquire) > 0; spins++) {
        if (spins < 4096) cpu_relax();
        else sched_yield();
    }
    atomic_store_explicit(&busy, 0, memory_order_release);
    return 0;
}

void slkd_pool_set_spin_microseconds(long microseconds) {
    atomic_store_explicit(&spin_nanoseconds, microseconds < 0 ? 0 : microseconds * 1000,
                          memory_order_relaxed);
}

long slkd_pool_spin_microseconds(void) {
    return atomic_load_explicit(&spin_nanoseconds, memory_order_relaxed) / 1000;
}

#else

// No futex: Parallel falls back to libdispatch.
int slkd_pool_run(long workers, long chunks, void (*_Nonnull function)(void *_Nullable, long),
                  void *_Nullable context) {
    (void)workers; (void)chunks; (void)function; (void)context;
    return -1;
}

void slkd_pool_set_spin_microseconds(long microseconds) { (void)microseconds; }

long slkd_pool_spin_microseconds(void) { return 0; }

#endif
