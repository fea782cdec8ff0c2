internal import CQuickJS

/// One owned reference to a QuickJS value: copying is a compile error, `duplicate()` makes a second reference, and
/// `deinit` is the only place that calls `JS_FreeValue`. Valid only while its context lives, on the context's thread.
@safe package struct JSRef: ~Copyable {
    package let context: OpaquePointer
    let raw: JSValue

    init(taking raw: JSValue, in context: OpaquePointer) { unsafe (self.raw, self.context) = (raw, context) }

    package borrowing func duplicate() -> JSRef { unsafe JSRef(taking: JS_DupValue(context, raw), in: context) }

    /// Hands the reference to a C call that takes ownership (`JS_EvalFunction`, `JS_Throw`, …); nothing is freed.
    consuming func release() -> JSValue {
        let value = unsafe raw
        discard self
        return unsafe value
    }

    deinit { unsafe JS_FreeValue(context, raw) }

    /// QuickJS's type tag (JS_TAG_*), read through the shim because JS_VALUE_GET_TAG is a macro.
    package var tag: Int { Int(unsafe cqjs_tag(raw)) }
    package var isException: Bool { unsafe cqjs_is_exception(raw) != 0 }
    package var isUndefined: Bool { tag == JS_TAG_UNDEFINED }
    package var isNull: Bool { tag == JS_TAG_NULL }
    package var isObject: Bool { tag == JS_TAG_OBJECT }
    package var isFunction: Bool { unsafe JS_IsFunction(context, raw) != 0 }
    package var isString: Bool { tag == JS_TAG_STRING || tag == JS_TAG_STRING_ROPE }
    package var isNumber: Bool { tag == JS_TAG_INT || tag == JS_TAG_FLOAT64 }

    /// The value as a Double when it is a number, without running `valueOf`.
    package var double: Double? {
        guard isNumber else { return nil }
        var result = 0.0
        return unsafe JS_ToFloat64(context, &result, raw) == 0 ? result : nil
    }

    /// The value when it is a boolean (no conversion of other types).
    package var bool: Bool? { tag == JS_TAG_BOOL ? unsafe JS_ToBool(context, raw) != 0 : nil }

    /// The string form of a primitive (`String(value)`, with a BigInt's "n"); objects are not converted, so no user
    /// code runs.
    package var primitiveDescription: String {
        switch tag {
        case JS_TAG_STRING, JS_TAG_STRING_ROPE: return string ?? ""
        case JS_TAG_OBJECT: return isFunction ? "[function]" : "[object]"
        case JS_TAG_SYMBOL:
            // ToString throws for a symbol; its description (a getter of Symbol.prototype) gives Node's form.
            return "Symbol(\(property("description")?.string ?? ""))"
        default:
            let converted = unsafe JSRef(taking: JS_ToString(context, raw), in: context)
            if converted.isException {
                unsafe JS_FreeValue(context, JS_GetException(context))
                return typeName
            }
            let text = converted.string ?? typeName
            return tag == JS_TAG_BIG_INT || tag == JS_TAG_SHORT_BIG_INT ? text + "n" : text
        }
    }

    /// The value's `typeof`, computed from its tag without calling into JavaScript.
    package var typeName: String {
        switch tag {
        case JS_TAG_INT, JS_TAG_FLOAT64: "number"
        case JS_TAG_BOOL: "boolean"
        case JS_TAG_STRING, JS_TAG_STRING_ROPE: "string"
        case JS_TAG_SYMBOL: "symbol"
        case JS_TAG_BIG_INT, JS_TAG_SHORT_BIG_INT: "bigint"
        case JS_TAG_UNDEFINED, JS_TAG_UNINITIALIZED: "undefined"
        case JS_TAG_NULL: "null"
        default: isFunction ? "function" : "object"
        }
    }

    /// The property `name`, or nil when reading it throws (a module binding still in its temporal dead zone); the
    /// exception is discarded.
    package borrowing func property(_ name: String) -> JSRef? {
        let value = unsafe JSRef(taking: JS_GetPropertyStr(context, raw, name), in: context)
        guard value.isException else { return value }
        unsafe JS_FreeValue(context, JS_GetException(context))
        return nil
    }

    /// The value as a 32-bit integer when it is a number, without running `valueOf`.
    package var int32: Int32? {
        guard tag == JS_TAG_INT || tag == JS_TAG_FLOAT64 else { return nil }
        var result: Int32 = 0
        return unsafe JS_ToInt32(context, &result, raw) == 0 ? result : nil
    }

    /// The value as a Swift string when it is a JavaScript string (no `toString` call on objects).
    package var string: String? {
        guard tag == JS_TAG_STRING || tag == JS_TAG_STRING_ROPE else { return nil }
        var length = 0
        guard let bytes = unsafe JS_ToCStringLen(context, &length, raw) else { return nil }
        defer { unsafe JS_FreeCString(context, bytes) }
        return unsafe String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    /// The object's own string-keyed property names, in QuickJS's order; empty for non-objects.
    package var ownPropertyNames: [String] {
        guard isObject else { return [] }
        var table: UnsafeMutablePointer<JSPropertyEnum>?
        var count: UInt32 = 0
        guard unsafe JS_GetOwnPropertyNames(context, &table, &count, raw, cqjs_gpn_strings()) == 0,
            let table = unsafe table
        else { return [] }
        var names: [String] = []
        names.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let atom = unsafe table[index].atom
            if let name = unsafe JS_AtomToCString(context, atom) {
                names.append(unsafe String(cString: name))
                unsafe JS_FreeCString(context, name)
            }
            unsafe JS_FreeAtom(context, atom)
        }
        // JS_FreePropertyEnum is not public in 2025-04-26: free the atoms (above) and the table by hand.
        unsafe js_free(context, table)
        return names
    }
}
