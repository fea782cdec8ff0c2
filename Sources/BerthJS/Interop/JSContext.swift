internal import CQuickJS

/// A QuickJS context (one realm of globals) on a runtime. It owns the C context and keeps its runtime alive; module
/// requests made while compiling go to `moduleHost`, native functions to `nativeHost`. Same threading as its runtime.
@safe package final class JSContext {
    package let runtime: JSRuntime
    package let raw: OpaquePointer
    /// Answers QuickJS's module requests (normalize a specifier, load a module); weak: the host owns the context.
    package weak var moduleHost: (any JSModuleHost)?
    /// Runs the functions made by `newNativeFunction`; weak: the host owns the context. Read once per native call, and
    /// like `unhandledRejections` never held across one: unchecked as `JSRuntime.deadline` is, and for the same reason.
    @exclusivity(unchecked) package weak var nativeHost: (any JSNativeHost)?
    /// Initializers of the C modules made by `newCModule`, keyed by their module definition.
    package var cModuleInitializers: [JSModule: (JSContext, JSModule) -> Bool] = [:]
    /// The C module whose missing export stops `linkedNamespace(of:)` after linking; made on first use.
    package var linkBarrier: JSModule?
    /// Promises rejected while no handler was attached, oldest first; one that gets a handler later leaves the list.
    @exclusivity(unchecked) private var unhandledRejections: [UnhandledRejection] = []

    package init(runtime: JSRuntime) {
        guard let raw = unsafe JS_NewContext(runtime.raw) else {
            preconditionFailure("QuickJS could not allocate a context")
        }
        self.runtime = runtime
        unsafe self.raw = raw
        unsafe JS_SetContextOpaque(raw, Unmanaged.passUnretained(self).toOpaque())
        installModuleCallbacks()
    }

    deinit {
        unhandledRejections.removeAll()  // their references must go before the context does
        unsafe JS_FreeContext(raw)
    }

    /// The Swift owner of a C context that QuickJS hands to a callback.
    package static func owner(of raw: OpaquePointer) -> JSContext {
        unsafe Unmanaged<JSContext>.fromOpaque(JS_GetContextOpaque(raw)!).takeUnretainedValue()
    }

    /// Removes the pending exception and describes it; every failed QuickJS call is followed by exactly one of these.
    package func takeException() -> JSError {
        let exception = unsafe JSRef(taking: JS_GetException(raw), in: raw)
        return JSError(exception)
    }

    /// Leaves an `InternalError` pending, for callbacks that must fail with an exception set.
    package func throwInternalError(_ message: String) {
        unsafe JS_FreeValue(raw, cqjs_throw_internal_error(raw, message))
    }

    // MARK: Unhandled rejections

    /// A promise that was rejected while nothing handled it, with the reason it was rejected with.
    package final class UnhandledRejection {
        package let promise: JSRef
        package let reason: JSRef
        init(promise: consuming JSRef, reason: consuming JSRef) {
            self.promise = promise
            self.reason = reason
        }
    }

    /// Called by the runtime's rejection tracker (JSRuntime.swift) with the values QuickJS lends it.
    func trackRejection(promise: JSValue, reason: JSValue, isHandled: Bool) {
        if isHandled {
            unhandledRejections.removeAll { unsafe JS_StrictEq(raw, $0.promise.raw, promise) != 0 }
        } else {
            let held = unsafe UnhandledRejection(
                promise: JSRef(taking: JS_DupValue(raw, promise), in: raw),
                reason: JSRef(taking: JS_DupValue(raw, reason), in: raw))
            unhandledRejections.append(held)
        }
    }

    /// Forgets the unhandled rejections with `reason`: a failure reported otherwise (a module's evaluation) is not
    /// logged a second time as a rejection of each promise it passed through.
    package func forgetRejections(withReason reason: borrowing JSRef) {
        unhandledRejections.removeAll { unsafe JS_StrictEq(raw, $0.reason.raw, reason.raw) != 0 }
    }

    /// The rejections still unhandled now (after the job queue ran dry, no handler can come any more), oldest first.
    package func takeUnhandledRejections() -> [UnhandledRejection] {
        guard !unhandledRejections.isEmpty else { return [] }
        defer { unhandledRejections.removeAll() }
        return unhandledRejections
    }
}

/// A JavaScript exception, copied out of QuickJS: its class, message, the JS stack when it has one and, for syntax
/// errors, the 1-based position.
package struct JSError: Error, Hashable, Sendable {
    package var name: String
    package var message: String
    package var line: Int?
    package var column: Int?
    /// QuickJS's `stack`: the frames only, one "    at f (file:line:column)" per line, without the "Name: message".
    package var stack: String?

    /// Reads `name`, `message`, `stack`, `lineNumber` and `columnNumber`: QuickJS defines all but `name` as own data
    /// properties of the errors it makes (the last two only on a SyntaxError from its parser). A thrown value that is
    /// not an object is described by its string form.
    package init(_ exception: borrowing JSRef) {
        guard exception.isObject else {
            if exception.isNull {
                // QuickJS throws null when it cannot even allocate the error object.
                self.init(name: "InternalError", message: "out of memory")
            } else {
                self.init(name: "Uncaught", message: exception.primitiveDescription)
            }
            return
        }
        let name = exception.property("name")?.string ?? "Error"
        let message = exception.property("message")?.string ?? ""
        let line = exception.property("lineNumber")?.int32.map(Int.init)
        let column = exception.property("columnNumber")?.int32.map(Int.init)
        let stack = exception.property("stack")?.string
        self.init(name: name, message: message, line: line, column: column, stack: stack)
    }

    package init(name: String, message: String, line: Int? = nil, column: Int? = nil, stack: String? = nil) {
        (self.name, self.message, self.line, self.column, self.stack) = (name, message, line, column, stack)
    }

    /// QuickJS's wording when an allocation fails against the runtime's memory limit.
    package var isOutOfMemory: Bool { name == "InternalError" && message == "out of memory" }
    /// QuickJS's wording when its stack check fires: a SyntaxError from the parser, an InternalError elsewhere.
    package var isStackOverflow: Bool { message == "stack overflow" }
    /// QuickJS's wording when the interrupt handler (the CPU budget) stopped the code.
    package var isInterrupt: Bool { name == "InternalError" && message == "interrupted" }

    /// "Name: message" and the stack's frames below it, as Node prints an uncaught error.
    package var description: String {
        let headline = name == "Uncaught" ? "Uncaught \(message)" : message.isEmpty ? name : "\(name): \(message)"
        guard let stack, !stack.isEmpty else { return headline }
        return headline + "\n" + (stack.hasSuffix("\n") ? String(stack.dropLast()) : stack)
    }
}
