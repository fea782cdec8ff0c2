internal import CQuickJS

/// A module compiled into a context. QuickJS frees module definitions only together with their context, so the
/// handle is valid as long as the context that made it lives.
@safe package struct JSModule: Hashable {
    package let raw: OpaquePointer

    package static func == (left: JSModule, right: JSModule) -> Bool { unsafe left.raw == right.raw }
    package func hash(into hasher: inout Hasher) { unsafe hasher.combine(raw) }
}

/// Answers the module requests QuickJS makes while it compiles a module, synchronously on the context's thread.
package protocol JSModuleHost: AnyObject {
    /// The canonical name of the module that `specifier` denotes when the module named `importer` imports it.
    /// QuickJS first looks that name up among the context's modules and asks `module(named:in:)` only when it is new.
    func moduleName(for specifier: String, importedBy importer: String) -> String
    /// The module named `name`, compiled now; nil only with an exception left pending in `context`.
    func module(named name: String, in context: JSContext) -> JSModule?
}

extension JSContext {
    /// Name of the throw-away module `linkedNamespace(of:)` compiles; its specifiers are taken verbatim.
    package static let linkWrapperName = "berth:link"
    /// Name of the C module whose missing export makes the wrapper's own linking fail, after its imports linked.
    package static let linkBarrierName = "berth:link-barrier"

    package func installModuleCallbacks() {
        unsafe JS_SetModuleLoaderFunc(runtime.raw, normalizeModuleName, loadModule, nil)
    }

    /// Compiles `source` (UTF-8) as an ES module named `name` without running any of it. QuickJS then resolves its
    /// imports, recursively, through `moduleHost` before returning; a syntax error throws with its position.
    package func compileModule(_ source: [UInt8], name: String) throws(JSError) -> JSModule {
        let value = try compileModuleValue(source, name: name)
        return unsafe JSModule(raw: cqjs_module_def(value.raw))
    }

    private func compileModuleValue(_ source: [UInt8], name: String) throws(JSError) -> JSRef {
        var text = source
        text.append(0)  // JS_Eval requires input[length] == 0
        let result: JSValue = unsafe text.withUnsafeBufferPointer { buffer in
            unsafe buffer.withMemoryRebound(to: CChar.self) { chars in
                unsafe JS_Eval(raw, chars.baseAddress, source.count, name, cqjs_eval_module_compile_only())
            }
        }
        let value = unsafe JSRef(taking: result, in: raw)
        if value.isException { throw takeException() }
        return value
    }

    /// Compiles `source` as `compileModule` does and returns the module's QuickJS bytecode, debug information (file
    /// name, line numbers) included; `readModule` makes the module again in a context of the same QuickJS build.
    package func compileModuleBytecode(_ source: [UInt8], name: String) throws(JSError) -> [UInt8] {
        let module = try compileModuleValue(source, name: name)
        var size = 0
        guard let bytes = unsafe JS_WriteObject(raw, &size, module.raw, JS_WRITE_OBJ_BYTECODE) else {
            throw takeException()
        }
        defer { unsafe js_free(raw, bytes) }
        return unsafe Array(UnsafeBufferPointer(start: bytes, count: size))
    }

    /// Makes the module that `compileModuleBytecode` wrote, and resolves its imports through `moduleHost` as
    /// `compileModule` does; a malformed input throws.
    package func readModule(_ bytecode: [UInt8]) throws(JSError) -> JSModule {
        let result: JSValue = unsafe bytecode.withUnsafeBufferPointer { buffer in
            unsafe JS_ReadObject(raw, buffer.baseAddress, buffer.count, JS_READ_OBJ_BYTECODE)
        }
        let value = unsafe JSRef(taking: result, in: raw)
        if value.isException { throw takeException() }
        guard unsafe cqjs_tag(value.raw) == JS_TAG_MODULE else {
            throw JSError(name: "TypeError", message: "the bytecode is not a module")
        }
        if unsafe JS_ResolveModule(raw, value.raw) < 0 { throw takeException() }
        return unsafe JSModule(raw: cqjs_module_def(value.raw))
    }

    /// The name QuickJS knows `module` by (for file modules, the path the loader gave it).
    package func name(of module: JSModule) -> String {
        let atom = unsafe JS_GetModuleName(raw, module.raw)
        defer { unsafe JS_FreeAtom(raw, atom) }
        guard let chars = unsafe JS_AtomToCString(raw, atom) else { return "" }
        defer { unsafe JS_FreeCString(raw, chars) }
        return unsafe String(cString: chars)
    }

    /// Adds a module implemented in Swift, importable as `name`, declaring `exports`; `initialize` runs when the
    /// module is evaluated (it sets the exports with JS_SetModuleExport) and returns false with an exception pending.
    package func newCModule(
        name: String, exports: [String], initialize: @escaping (JSContext, JSModule) -> Bool
    ) -> JSModule {
        guard let raw = unsafe JS_NewCModule(self.raw, name, initializeCModule) else {
            preconditionFailure("QuickJS could not allocate the module \(name)")
        }
        let module = unsafe JSModule(raw: raw)
        for export in exports {
            precondition(unsafe JS_AddModuleExport(self.raw, raw, export) == 0, "QuickJS could not add \(export)")
        }
        cModuleInitializers[module] = initialize
        return module
    }

    /// Links `module` and everything it imports, then returns its namespace object, without evaluating any module.
    ///
    /// Linking (the spec's InitializeEnvironment) binds imports and creates the function declarations, so a
    /// `export function f` binding already holds its function while `let`/`const`/`class` bindings stay in their
    /// temporal dead zone. QuickJS 2025-04-26 has no public link call: its only path to linking is JS_EvalFunction,
    /// which links and then evaluates. So this compiles a wrapper, `import barrier; import module; import { barrier }
    /// from barrier`, whose *own* import cannot resolve: QuickJS links the barrier and the whole graph of `module`
    /// (requested modules link first), then fails on the wrapper's import and returns before evaluation starts.
    /// Should linking ever succeed, the barrier comes first in evaluation order and its initializer throws, still
    /// before any module of the graph runs. Linking errors of the graph itself (a missing export) are thrown.
    /// Each call leaves one small wrapper module in the context (QuickJS cannot free single modules).
    package func linkedNamespace(of module: JSModule) throws(JSError) -> JSRef {
        if linkBarrier == nil {
            linkBarrier = newCModule(name: Self.linkBarrierName, exports: []) { context, _ in
                context.throwInternalError("\(JSContext.linkBarrierName) is never evaluated")
                return false
            }
        }
        let source = """
            import "\(Self.linkBarrierName)";
            import \(Self.stringLiteral(name(of: module)));
            import { barrier } from "\(Self.linkBarrierName)";
            """
        let wrapper = try compileModuleValue(Array(source.utf8), name: Self.linkWrapperName)
        let outcome = unsafe JSRef(taking: JS_EvalFunction(raw, wrapper.release()), in: raw)
        precondition(outcome.isException, "the link barrier did not stop \(name(of: module)) before evaluation")
        let error = takeException()
        guard error.message.hasSuffix("'\(Self.linkBarrierName)'") else { throw error }
        let namespace = unsafe JSRef(taking: JS_GetModuleNamespace(raw, module.raw), in: raw)
        if namespace.isException { throw takeException() }
        return namespace
    }

    /// `text` as a double-quoted JavaScript string literal.
    private static func stringLiteral(_ text: String) -> String {
        var literal = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": literal += "\\\""
            case "\\": literal += "\\\\"
            case "\u{2028}", "\u{2029}":
                literal += "\\u{" + String(scalar.value, radix: 16) + "}"
            case _ where scalar.value < 0x20:
                literal += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: literal.unicodeScalars.append(scalar)
            }
        }
        return literal + "\""
    }
}

// QuickJS's module callbacks: capture-less C functions that find their Swift owner through the context's opaque.

/// Returns the canonical module name, allocated with js_malloc as QuickJS frees it.
private func normalizeModuleName(
    _ ctx: OpaquePointer?, _ base: UnsafePointer<CChar>?, _ specifier: UnsafePointer<CChar>?,
    _ opaque: UnsafeMutableRawPointer?
) -> UnsafeMutablePointer<CChar>? {
    guard let ctx = unsafe ctx, let base = unsafe base, let specifier = unsafe specifier else { return nil }
    let context = unsafe JSContext.owner(of: ctx)
    let importer = unsafe String(cString: base)
    let requested = unsafe String(cString: specifier)
    let name: String
    if importer == JSContext.linkWrapperName {
        name = requested
    } else if let host = context.moduleHost {
        name = host.moduleName(for: requested, importedBy: importer)
    } else {
        name = requested
    }
    let bytes = Array(name.utf8)
    guard let copy = unsafe js_malloc(ctx, bytes.count + 1)?.assumingMemoryBound(to: CChar.self) else { return nil }
    unsafe bytes.withUnsafeBytes {
        unsafe UnsafeMutableRawPointer(copy).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
    }
    unsafe copy[bytes.count] = 0
    return unsafe copy
}

/// Returns the module QuickJS did not find among the context's modules, or NULL with an exception pending.
private func loadModule(
    _ ctx: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) -> OpaquePointer? {
    guard let ctx = unsafe ctx, let name = unsafe name else { return nil }
    let context = unsafe JSContext.owner(of: ctx)
    let moduleName = unsafe String(cString: name)
    guard let host = context.moduleHost else {
        context.throwInternalError("no module loader: cannot load \(moduleName)")
        return nil
    }
    return unsafe host.module(named: moduleName, in: context)?.raw
}

/// Evaluates a C module made by `newCModule` by calling its Swift initializer.
private func initializeCModule(_ ctx: OpaquePointer?, _ raw: OpaquePointer?) -> Int32 {
    guard let ctx = unsafe ctx, let raw = unsafe raw else { return -1 }
    let context = unsafe JSContext.owner(of: ctx)
    let module = unsafe JSModule(raw: raw)
    guard let initialize = context.cModuleInitializers[module] else {
        context.throwInternalError("\(context.name(of: module)) has no initializer")
        return -1
    }
    return initialize(context, module) ? 0 : -1
}
