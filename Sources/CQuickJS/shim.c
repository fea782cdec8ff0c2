// The C target needs one translation unit; everything berth needs from QuickJS is in include/shim.h, except the one
// function below, which needs _GNU_SOURCE (set before any header) for pthread_getattr_np.
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include "shim.h"

// Bytes counted per block on top of its usable size, as QuickJS's own allocator counts them.
#define CQJS_BLOCK_OVERHEAD 8

// Whether malloc_size + growth stays within the limit. As in QuickJS a limit of 0 means none: the comparison is
// against limit - 1, which wraps to the largest size. `growth` may be negative (wrapping) for a shrinking realloc.
static int cqjs_fits(const JSMallocState *state, size_t growth) {
    return state->malloc_size + growth <= state->malloc_limit - 1;
}

static void cqjs_note_failure(JSMallocState *state) {
    if (state->opaque != NULL) ((cqjs_heap_count *)state->opaque)->failures += 1;
}

// Mirrors malloc_size where berth can read it without JS_ComputeMemoryUsage, which walks the whole heap.
static void cqjs_note_size(JSMallocState *state) {
    if (state->opaque != NULL) ((cqjs_heap_count *)state->opaque)->bytes = state->malloc_size;
}

static void *cqjs_heap_malloc(JSMallocState *state, size_t size) {
    void *block;
    if (!cqjs_fits(state, size) || (block = malloc(size)) == NULL) {
        cqjs_note_failure(state);
        return NULL;
    }
    state->malloc_count += 1;
    state->malloc_size += malloc_usable_size(block) + CQJS_BLOCK_OVERHEAD;
    cqjs_note_size(state);
    return block;
}

static void cqjs_heap_free(JSMallocState *state, void *block) {
    if (block == NULL) return;
    state->malloc_count -= 1;
    state->malloc_size -= malloc_usable_size(block) + CQJS_BLOCK_OVERHEAD;
    cqjs_note_size(state);
    free(block);
}

static void *cqjs_heap_realloc(JSMallocState *state, void *block, size_t size) {
    if (block == NULL) return size == 0 ? NULL : cqjs_heap_malloc(state, size);
    if (size == 0) {
        cqjs_heap_free(state, block);
        return NULL;
    }
    size_t old = malloc_usable_size(block);
    void *grown;
    if (!cqjs_fits(state, size - old) || (grown = realloc(block, size)) == NULL) {
        cqjs_note_failure(state);
        return NULL;
    }
    state->malloc_size += malloc_usable_size(grown) - old;
    cqjs_note_size(state);
    return grown;
}

static size_t cqjs_heap_usable_size(const void *block) {
    return block == NULL ? 0 : malloc_usable_size((void *)block);
}

const JSMallocFunctions *cqjs_counting_allocator(void) {
    static const JSMallocFunctions functions = {
        .js_malloc = cqjs_heap_malloc, .js_free = cqjs_heap_free, .js_realloc = cqjs_heap_realloc,
        .js_malloc_usable_size = cqjs_heap_usable_size,
    };
    return &functions;
}

uintptr_t cqjs_thread_stack_low(void) {
    static _Thread_local uintptr_t low;  // a thread's stack never moves: ask pthreads once per thread
    if (low == 0) {
        pthread_attr_t attributes;
        void *address = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attributes) != 0) return 0;
        if (pthread_attr_getstack(&attributes, &address, &size) == 0) low = (uintptr_t)address;
        pthread_attr_destroy(&attributes);
    }
    return low;
}
