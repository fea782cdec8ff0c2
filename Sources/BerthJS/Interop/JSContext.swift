internal import CQuickJS

/// A QuickJS context (one realm of globals) on a runtime. It owns the C context and keeps its runtime alive; module
/// requests made while compiling go to `moduleHost`. Same threading as its runtime.
@safe final class JSContext {
    let runtime: JSRuntime
    let raw: OpaquePointer
    /// Answers QuickJS's module requests (normalize a specifier, load a module); weak: the host owns the context.
    weak var moduleHost: (any JSModuleHost)?
    /// Initializers of the C modules made by `newCModule`, keyed by their module definition.
    var cModuleInitializers: [JSModule: (JSContext, JSModule) -> Bool] = [:]
    /// The C module whose missing export stops `linkedNamespace(of:)` after linking; made on first use.
    var linkBarrier: JSModule?

    init(runtime: JSRuntime) {
        guard let raw = unsafe JS_NewContext(runtime.raw) else {
            preconditionFailure("QuickJS could not allocate a context")
        }
        self.runtime = runtime
        unsafe self.raw = raw
        unsafe JS_SetContextOpaque(raw, Unmanaged.passUnretained(self).toOpaque())
        installModuleCallbacks()
    }

    deinit { unsafe JS_FreeContext(raw) }

    /// The Swift owner of a C context that QuickJS hands to a callback.
    static func owner(of raw: OpaquePointer) -> JSContext {
        unsafe Unmanaged<JSContext>.fromOpaque(JS_GetContextOpaque(raw)!).takeUnretainedValue()
    }

    /// Removes the pending exception and describes it; every failed QuickJS call is followed by exactly one of these.
    func takeException() -> JSError {
        let exception = unsafe JSRef(taking: JS_GetException(raw), in: raw)
        return JSError(exception)
    }

    /// Leaves an `InternalError` pending, for callbacks that must fail with an exception set.
    func throwInternalError(_ message: String) {
        unsafe JS_FreeValue(raw, cqjs_throw_internal_error(raw, message))
    }
}

/// A JavaScript exception, copied out of QuickJS: its class, message and, for syntax errors, the 1-based position.
struct JSError: Error, Hashable, Sendable {
    var name: String
    var message: String
    var line: Int?
    var column: Int?

    /// Reads `name`, `message`, `lineNumber` and `columnNumber`: QuickJS's parser defines the last two (with
    /// `fileName`) as own data properties of the SyntaxError it throws, so no getter or user code runs here.
    init(_ exception: borrowing JSRef) {
        guard exception.isObject else {
            // QuickJS throws null when it cannot even allocate the error object.
            self.init(
                name: "InternalError", message: exception.isNull ? "out of memory" : "uncaught \(exception.typeName)")
            return
        }
        let name = exception.property("name")?.string ?? "Error"
        let message = exception.property("message")?.string ?? ""
        let line = exception.property("lineNumber")?.int32.map(Int.init)
        let column = exception.property("columnNumber")?.int32.map(Int.init)
        self.init(name: name, message: message, line: line, column: column)
    }

    init(name: String, message: String, line: Int? = nil, column: Int? = nil) {
        (self.name, self.message, self.line, self.column) = (name, message, line, column)
    }

    /// QuickJS's wording when an allocation fails against the runtime's memory limit.
    var isOutOfMemory: Bool { name == "InternalError" && message == "out of memory" }
    /// QuickJS's wording when its stack check fires: a SyntaxError from the parser, an InternalError elsewhere.
    var isStackOverflow: Bool { message == "stack overflow" }
}
