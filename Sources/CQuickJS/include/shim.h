// QuickJS for berth. Only what Swift cannot import lives here: macros become static inline functions.
#include <quickjs/quickjs.h>

// JS_UNDEFINED, JS_NULL, JS_EXCEPTION and JS_VALUE_GET_TAG are macros; Swift imports none of them.
static inline JSValue cqjs_undefined(void) { return JS_UNDEFINED; }
static inline JSValue cqjs_null(void) { return JS_NULL; }
static inline JSValue cqjs_exception(void) { return JS_EXCEPTION; }
static inline int32_t cqjs_tag(JSValueConst v) { return JS_VALUE_GET_TAG(v); }
static inline int cqjs_is_exception(JSValueConst v) { return JS_IsException(v); }
