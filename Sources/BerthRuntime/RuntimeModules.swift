import BerthClone
import BerthJS

/// berth's own modules, the handler globals (Sources/BerthRuntime/js, built in as QuickJS bytecode by the
/// EmbedRuntimeJS plugin), and `berth:host`, the native functions they import. They are loaded into a context before
/// its ModuleLoader: a handler's imports never reach them (ModuleLoader refuses `berth:` specifiers).
final class RuntimeModules: JSModuleHost {
    static let hostName = ModuleLoader.internalPrefix + "host"
    /// The module whose namespace is the runtime's hooks (GlobalsHooks); it imports all the others.
    static let entryName = ModuleLoader.internalPrefix + "hooks.js"

    /// The bytecode of each module by name, decoded once per process from the generated `RuntimeJS`.
    private static let bytecode: [String: [UInt8]] = Dictionary(
        uniqueKeysWithValues: RuntimeJS.modules.map { ($0.name, decode($0.bytecode)) })

    /// Evaluates the runtime's modules in `context`, whose module host this becomes until they are linked, and returns
    /// the entry's namespace. `makeNatives` fills `berth:host` when it is evaluated, before any other module.
    static func evaluate(
        in context: JSContext, natives: @escaping (JSContext, JSModule) -> Bool
    ) throws(JSError) -> JSRef {
        let modules = RuntimeModules()
        context.moduleHost = modules
        defer { context.moduleHost = nil }
        _ = context.newCModule(name: hostName, exports: NativeFunction.allCases.map(\.name), initialize: natives)
        guard let entry = try modules.read(entryName, in: context) else {
            preconditionFailure("the runtime has no module \(entryName)")
        }
        let promise = context.evaluate(entry)
        if promise.isException { throw context.takeException() }
        // No module awaits at its top level: the evaluation has settled.
        if context.promiseState(promise) == .rejected {
            context.forgetRejections(withReason: context.promiseResult(promise))
            throw JSError(context.promiseResult(promise))
        }
        return try context.namespace(of: entry)
    }

    /// `./x.js` names the runtime's module `x.js`; `berth:host` itself; anything else no module (and fails to load).
    func moduleName(for specifier: String, importedBy importer: String) -> String {
        specifier.hasPrefix("./") ? ModuleLoader.internalPrefix + specifier.dropFirst(2) : specifier
    }

    func module(named name: String, in context: JSContext) -> JSModule? {
        do {
            guard let module = try read(name, in: context) else {
                context.throwInternalError("berth's runtime has no module \(name)")
                return nil
            }
            return module
        } catch {
            context.throwInternalError("berth's runtime module \(name) did not load: \(error.description)")
            return nil
        }
    }

    private func read(_ name: String, in context: JSContext) throws(JSError) -> JSModule? {
        guard let bytecode = Self.bytecode[name] else { return nil }
        return try context.readModule(bytecode)
    }

    /// The bytes of `RuntimeJS`'s encoding: each scalar below U+0100 is one byte (two bytes of UTF-8 above U+007F).
    private static func decode(_ text: StaticString) -> [UInt8] {
        text.withUTF8Buffer { utf8 in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(utf8.count)
            WTF8.appendLatin1(of: UnsafeRawBufferPointer(utf8), to: &bytes)
            return bytes
        }
    }
}
