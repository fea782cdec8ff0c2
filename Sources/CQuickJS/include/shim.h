// QuickJS for berth. Only what Swift cannot import lives here: macros become static inline functions.
#include <quickjs/quickjs.h>

// JS_UNDEFINED, JS_NULL, JS_EXCEPTION and JS_VALUE_GET_TAG are macros; Swift imports none of them.
static inline JSValue cqjs_undefined(void) { return JS_UNDEFINED; }
static inline JSValue cqjs_null(void) { return JS_NULL; }
static inline JSValue cqjs_exception(void) { return JS_EXCEPTION; }
static inline int32_t cqjs_tag(JSValueConst v) { return JS_VALUE_GET_TAG(v); }
static inline int cqjs_is_exception(JSValueConst v) { return JS_IsException(v); }

// JS_VALUE_GET_PTR is a macro; a compiled module's value carries the JSModuleDef the loader callbacks trade in.
static inline JSModuleDef *cqjs_module_def(JSValueConst v) { return (JSModuleDef *)JS_VALUE_GET_PTR(v); }

// JS_MKPTR is a macro; a module definition becomes a value again (one more reference) for JS_EvalFunction.
static inline JSValue cqjs_module_value(JSContext *ctx, JSModuleDef *m) {
    return JS_DupValue(ctx, JS_MKPTR(JS_TAG_MODULE, m));
}

// The eval and property-enumeration flags are macros built with shifts; named functions keep the bit math in C.
static inline int cqjs_eval_module_compile_only(void) { return JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY; }
static inline int cqjs_gpn_strings(void) { return JS_GPN_STRING_MASK; }
static inline int cqjs_gpn_enumerable_strings(void) { return JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY; }
// JS_PROP_C_W_E is a macro too: the flags of an ordinary data property (CreateDataProperty's).
static inline int cqjs_prop_enumerable_data(void) { return JS_PROP_C_W_E; }

// JS_VALUE_GET_PTR is a macro; an object's address identifies it while it lives (the clone codec's memo key).
static inline uintptr_t cqjs_object_identity(JSValueConst v) { return (uintptr_t)JS_VALUE_GET_PTR(v); }

// JS_ThrowInternalError is variadic (printf-style); Swift cannot call C variadics, so the message goes through "%s".
static inline JSValue cqjs_throw_internal_error(JSContext *ctx, const char *message) {
    return JS_ThrowInternalError(ctx, "%s", message);
}
// JS_ThrowTypeError and JS_ThrowRangeError are variadic too.
static inline JSValue cqjs_throw_type_error(JSContext *ctx, const char *message) {
    return JS_ThrowTypeError(ctx, "%s", message);
}
static inline JSValue cqjs_throw_range_error(JSContext *ctx, const char *message) {
    return JS_ThrowRangeError(ctx, "%s", message);
}

// What berth's allocator counts for one runtime, in the struct the runtime's opaque points at.
typedef struct cqjs_heap_count {
    size_t failures;  // allocations refused: at the memory limit, or malloc returning NULL
    size_t bytes;     // the heap's size as the memory limit counts it (JSMallocState.malloc_size)
} cqjs_heap_count;

// berth's allocator for QuickJS: QuickJS's default one (malloc and a byte limit) plus a `cqjs_heap_count`. QuickJS
// turns a refused allocation into a catchable exception, so the failure count is the only reliable sign that a
// handler hit its heap limit. In C because it runs for every JavaScript allocation (defined in shim.c).
const JSMallocFunctions *cqjs_counting_allocator(void);

// The caller's frame on the thread's real stack. Swift has no such builtin, and the address of a local is no stack
// depth under AddressSanitizer, which moves locals to heap frames to catch use after return.
static inline __attribute__((always_inline)) uintptr_t cqjs_frame_address(void) {
    return (uintptr_t)__builtin_frame_address(0);
}

// Lowest address of the calling thread's stack (0 if unknown), so QuickJS's stack limit can be kept above it.
// Defined in shim.c: pthread_getattr_np needs _GNU_SOURCE, which Swift's Glibc module does not expose.
uintptr_t cqjs_thread_stack_low(void);
