internal import CQuickJS

/// Making values, reading and setting properties, evaluating scripts and modules, promises.
extension JSContext {
    package var undefined: JSRef { unsafe JSRef(taking: cqjs_undefined(), in: raw) }
    package var null: JSRef { unsafe JSRef(taking: cqjs_null(), in: raw) }

    package func number(_ value: Int) -> JSRef { unsafe JSRef(taking: JS_NewInt64(raw, Int64(value)), in: raw) }
    package func number(_ value: Double) -> JSRef { unsafe JSRef(taking: JS_NewFloat64(raw, value), in: raw) }
    package func bool(_ value: Bool) -> JSRef { unsafe JSRef(taking: JS_NewBool(raw, value ? 1 : 0), in: raw) }

    /// A JavaScript string with `text`'s characters; a native Swift string is read in place.
    package func string(_ text: String) -> JSRef {
        let made: JSValue? = unsafe text.utf8.withContiguousStorageIfAvailable { bytes in
            unsafe bytes.withMemoryRebound(to: CChar.self) { chars in
                unsafe JS_NewStringLen(raw, chars.baseAddress, chars.count)
            }
        }
        if let made = unsafe made { return unsafe JSRef(taking: made, in: raw) }
        let bytes = Array(text.utf8)
        let value = unsafe bytes.withUnsafeBufferPointer { buffer in
            unsafe buffer.withMemoryRebound(to: CChar.self) { chars in
                unsafe JS_NewStringLen(raw, chars.baseAddress, chars.count)
            }
        }
        return unsafe JSRef(taking: value, in: raw)
    }

    package func newObject() -> JSRef { unsafe JSRef(taking: JS_NewObject(raw), in: raw) }

    package var globalObject: JSRef { unsafe JSRef(taking: JS_GetGlobalObject(raw), in: raw) }

    /// Sets `object[name] = value` (an ordinary assignment); false, with the exception discarded, when it throws.
    @discardableResult
    package func set(_ object: borrowing JSRef, _ name: String, _ value: consuming JSRef) -> Bool {
        guard unsafe JS_SetPropertyStr(raw, object.raw, name, value.release()) >= 0 else {
            unsafe JS_FreeValue(raw, JS_GetException(raw))
            return false
        }
        return true
    }

    /// Leaves a TypeError pending and returns the exception marker a native function returns with it.
    package func throwTypeError(_ message: String) -> JSRef {
        unsafe JSRef(taking: cqjs_throw_type_error(raw, message), in: raw)
    }

    /// Leaves a RangeError pending and returns the exception marker.
    package func throwRangeError(_ message: String) -> JSRef {
        unsafe JSRef(taking: cqjs_throw_range_error(raw, message), in: raw)
    }

    // MARK: Modules

    /// Links and evaluates `module` with everything it imports (each module runs once per context). The result is
    /// the promise of the evaluation (top-level await settles it), or the exception marker with the exception pending.
    package func evaluate(_ module: JSModule) -> JSRef {
        unsafe JSRef(taking: JS_EvalFunction(raw, cqjs_module_value(raw, module.raw)), in: raw)
    }

    /// The namespace object of an evaluated (or at least linked) module.
    package func namespace(of module: JSModule) throws(JSError) -> JSRef {
        let namespace = unsafe JSRef(taking: JS_GetModuleNamespace(raw, module.raw), in: raw)
        if namespace.isException { throw takeException() }
        return namespace
    }

    /// Sets an export of a C module made by `newCModule`, from its initializer; false with an exception pending.
    package func setModuleExport(_ module: JSModule, _ name: String, _ value: consuming JSRef) -> Bool {
        unsafe JS_SetModuleExport(raw, module.raw, name, value.release()) == 0
    }

    // MARK: Promises

    package enum PromiseState { case pending, fulfilled, rejected }

    /// The state of `value` when it is a promise; nil for anything else.
    package func promiseState(_ value: borrowing JSRef) -> PromiseState? {
        guard value.isObject else { return nil }
        switch unsafe JS_PromiseState(raw, value.raw) {
        case JS_PROMISE_PENDING: return .pending
        case JS_PROMISE_FULFILLED: return .fulfilled
        case JS_PROMISE_REJECTED: return .rejected
        default: return nil
        }
    }

    /// The value a settled promise holds (its fulfilment value or rejection reason).
    package func promiseResult(_ promise: borrowing JSRef) -> JSRef {
        unsafe JSRef(taking: JS_PromiseResult(raw, promise.raw), in: raw)
    }

    /// A new pending promise with the functions that settle it; nil when QuickJS is out of memory (an exception is
    /// then pending).
    package func newPromise() -> JSPromiseCapability? {
        var functions = unsafe (cqjs_undefined(), cqjs_undefined())
        let promise = unsafe withUnsafeMutableBytes(of: &functions) { functions in
            let resolving = unsafe functions.baseAddress!.assumingMemoryBound(to: JSValue.self)
            return unsafe JSRef(taking: JS_NewPromiseCapability(raw, resolving), in: raw)
        }
        if promise.isException { return nil }
        return unsafe JSPromiseCapability(
            promise: promise, resolve: JSRef(taking: functions.0, in: raw), reject: JSRef(taking: functions.1, in: raw))
    }

    /// Removes the pending exception and returns the thrown value itself (to reject a promise with, say).
    package func takeExceptionValue() -> JSRef { unsafe JSRef(taking: JS_GetException(raw), in: raw) }
}

/// A promise and the two functions that fulfil or reject it.
package struct JSPromiseCapability: ~Copyable {
    package var promise: JSRef
    package var resolve: JSRef
    package var reject: JSRef
}

/// The arguments of one call from Swift into JavaScript (at most eight), owned until the call is over. It lives on the
/// stack, so a call through it allocates nothing in Swift.
@safe package struct JSCall: ~Copyable {
    package static let capacity = 8
    private let context: OpaquePointer
    private var values: (JSValue, JSValue, JSValue, JSValue, JSValue, JSValue, JSValue, JSValue)
    package private(set) var count = 0

    package init(_ context: JSContext) {
        let undefined = unsafe cqjs_undefined()
        unsafe self.context = context.raw
        unsafe values = (undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined)
    }

    deinit {
        unsafe withUnsafePointer(to: values) { tuple in
            let values = unsafe UnsafeRawPointer(tuple).assumingMemoryBound(to: JSValue.self)
            for index in 0..<count { unsafe JS_FreeValue(context, values[index]) }
        }
    }

    /// Adds one argument; the call owns it from now on.
    package mutating func append(_ value: consuming JSRef) {
        precondition(count < Self.capacity, "a JSCall takes at most \(Self.capacity) arguments")
        let raw = unsafe value.release()
        unsafe withUnsafeMutablePointer(to: &values) { tuple in
            unsafe UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: JSValue.self)[count] = raw
        }
        count += 1
    }

    /// Calls `function` with `this` undefined. The result is the exception marker when it threw (the exception stays
    /// pending in the context).
    package mutating func call(_ function: borrowing JSRef) -> JSRef {
        let count = Int32(self.count)
        let result = unsafe withUnsafeMutablePointer(to: &values) { tuple in
            unsafe JS_Call(
                context, function.raw, cqjs_undefined(), count,
                UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: JSValue.self))
        }
        return unsafe JSRef(taking: result, in: context)
    }

    /// Calls `function` with `this` bound to `this` (a method such as Map.prototype.set on a given map).
    package mutating func call(_ function: borrowing JSRef, this: borrowing JSRef) -> JSRef {
        let count = Int32(self.count)
        let result = unsafe withUnsafeMutablePointer(to: &values) { tuple in
            unsafe JS_Call(
                context, function.raw, this.raw, count,
                UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: JSValue.self))
        }
        return unsafe JSRef(taking: result, in: context)
    }

    /// `new constructor(...arguments)`.
    package mutating func construct(_ constructor: borrowing JSRef) -> JSRef {
        let count = Int32(self.count)
        let result = unsafe withUnsafeMutablePointer(to: &values) { tuple in
            unsafe JS_CallConstructor(
                context, constructor.raw, count, UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: JSValue.self))
        }
        return unsafe JSRef(taking: result, in: context)
    }

    /// `Reflect.construct(constructor, arguments, newTarget)`: the object gets `newTarget.prototype`.
    package mutating func construct(_ constructor: borrowing JSRef, newTarget: borrowing JSRef) -> JSRef {
        let count = Int32(self.count)
        let result = unsafe withUnsafeMutablePointer(to: &values) { tuple in
            unsafe JS_CallConstructor2(
                context, constructor.raw, newTarget.raw, count,
                UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: JSValue.self))
        }
        return unsafe JSRef(taking: result, in: context)
    }
}
