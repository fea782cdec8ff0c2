// The C target needs one translation unit; everything berth needs from QuickJS is in include/shim.h, except the one
// function below, which needs _GNU_SOURCE (set before any header) for pthread_getattr_np.
#define _GNU_SOURCE
#include <pthread.h>
#include "shim.h"

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
