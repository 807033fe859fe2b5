// Page-granular blocks for the tensor memory cache (TensorMemoryCache in SLKDTensor).
//
// Why the cache maps its own blocks instead of taking them from malloc: a block it no longer
// needs at one size can then be resized with mremap, which moves page-table entries and keeps
// the pages already faulted in. Freeing it and mapping a fresh one instead faults in (and the
// kernel zeroes) every page again, which cost forwards 10-45 % of their time under a memory
// bound (Docs/Benchmarks.md, issue 16). malloc's own large blocks carry a header before the
// pointer and cannot be resized behind its back.
#define _GNU_SOURCE
#include "CSLKDKernels.h"

#include <sys/mman.h>

void *slkd_block_map(size_t bytes) {
    void *block = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return block == MAP_FAILED ? NULL : block;
}

void slkd_block_unmap(void *block, size_t bytes) { munmap(block, bytes); }

void *slkd_block_resize(void *block, size_t bytes, size_t new_bytes) {
#ifdef __linux__
    void *moved = mremap(block, bytes, new_bytes, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
#else
    // No mremap: a fresh mapping (the contents need not survive: the block is free).
    void *fresh = slkd_block_map(new_bytes);
    if (fresh != NULL) munmap(block, bytes);
    return fresh;
#endif
}
