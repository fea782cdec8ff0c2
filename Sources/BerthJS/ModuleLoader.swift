import BerthFolder

/// Loads handler modules into one context, confined to the handler folder: relative specifiers resolve against the
/// importing file, symlinks are resolved before anything is opened, nothing outside the folder is ever read, and the
/// only bare specifiers are berth's built-in modules. Each file is compiled once per context. A failed import is
/// recorded as a `ModuleProblem` in the file that has it and resolves to an empty stand-in module, so QuickJS's
/// resolution never fails half-way (it would then free a module that others already point at).
package final class ModuleLoader: JSModuleHost {
    /// A module berth provides in Swift: importable by `name` and by each of `aliases`.
    package struct Builtin {
        package var name: String
        package var aliases: [String]
        package var exports: [String]
    }

    package static let builtins = [
        Builtin(name: "node:buffer", aliases: ["buffer"], exports: ["Buffer", "default"]),
        Builtin(name: "node:events", aliases: ["events"], exports: ["EventEmitter", "once", "on", "default"]),
    ]
    /// The prefix of berth's own module names (its runtime's, the stand-ins below): no handler may import one.
    package static let internalPrefix = "berth:"
    /// The empty module every failed import resolves to; a graph that contains it is never linked.
    package static let unresolvedName = internalPrefix + "unresolved"

    /// What one file of the folder became in the context.
    package final class Record {
        /// The module's name in QuickJS: "./" and the real file's path relative to the folder. So a file reached
        /// through two symlinks is one module, no name collides with a built-in, and names (which QuickJS prints in
        /// stack traces, and cuts at 63 bytes in messages) do not depend on where the folder is mounted.
        package let name: String
        /// Real path, for the file system.
        let path: String
        let relativePath: String
        let source: [UInt8]
        package var module: JSModule?
        var failedToCompile = false
        /// Heap its compiled module holds, imports not included (they are records of their own).
        var compiledBytes = 0
        /// Set once QuickJS asks for this module's imports: from then on other modules may point at it.
        var isResolvingImports = false
        /// Module names of the files it imports, in order (also those that failed to compile).
        var imports: [String] = []
        /// Each import specifier with the module name it resolved to (a file, a built-in, or the stand-in).
        var requests: [(specifier: String, name: String)] = []
        package var problems: [ModuleProblem] = []
        /// Dynamic imports and calls of missing globals in the source, found once however many entries reach it.
        lazy var calls = StaticCalls.findings(in: source)

        init(path: String, relativePath: String, source: [UInt8]) {
            (name, self.path, self.relativePath, self.source) = ("./" + relativePath, path, relativePath, source)
        }
    }

    package enum EntryLoad {
        case loaded(Record)
        case refused(ModuleProblem)
    }

    package let folder: HandlerFolder
    package let context: JSContext
    package let sources: SourceCache
    package let budget: ModuleBudget
    /// Heap held by the modules compiled so far (each record's `compiledBytes`, summed).
    private var compiledBytes = 0
    package private(set) var records: [String: Record] = [:]
    /// Set when compiling failed after QuickJS had started resolving imports, or ran out of memory: modules in the
    /// context may then point at freed ones, so it must not be used again.
    package private(set) var isPoisoned = false
    package private(set) var poisonCause: JSError?
    private var unresolved: JSModule
    /// True while `loadEntry` compiles an entry and its static imports. Any other request is a dynamic `import()`
    /// made by running code, which fails with the problem itself instead of resolving to the stand-in.
    private var isLoadingEntry = false
    /// How many `compile` calls are under way: at zero, a request comes from running code (a dynamic `import()`).
    private var compileDepth = 0
    /// Stand-in module names of imports that failed at run time, with their problem (see `moduleName`).
    private var runtimeProblems: [String: ModuleProblem] = [:]

    /// Declares the built-in modules in `context` (`initializeBuiltin` runs if one is evaluated) and becomes the
    /// context's module host. The context must be fresh: its modules are this loader's. Files larger than `budget`
    /// allows are not compiled; the caller lifts the heap limit while it loads (`JSRuntime.withoutMemoryLimit`).
    package init(
        folder: HandlerFolder, context: JSContext, sources: SourceCache = SourceCache(),
        budget: ModuleBudget, initializeBuiltin: @escaping (JSContext, JSModule) -> Bool
    ) {
        self.folder = folder
        self.context = context
        self.sources = sources
        self.budget = budget
        // Built-ins first: QuickJS searches its module list from the front.
        for builtin in Self.builtins {
            _ = context.newCModule(name: builtin.name, exports: builtin.exports, initialize: initializeBuiltin)
        }
        unresolved = context.newCModule(name: Self.unresolvedName, exports: []) { context, _ in
            context.throwInternalError("a module with unresolved imports cannot run")
            return false
        }
        context.moduleHost = self
    }

    /// Compiles the entry `relativePath` (and, through QuickJS, everything it imports), or says why it cannot.
    package func loadEntry(_ relativePath: String) -> EntryLoad {
        func refuse(_ kind: ModuleProblem.Kind, _ message: String) -> EntryLoad {
            .refused(ModuleProblem(kind: kind, file: relativePath, message: message))
        }
        guard let root = folder.root else { return refuse(.unreadable, "the handler folder cannot be resolved") }
        let lexical = HandlerFolder.join(root, relativePath)
        guard !relativePath.hasPrefix("/"), folder.contains(lexical), lexical != root else {
            return refuse(.outsideFolder, "\(relativePath) is not a file inside the handler folder")
        }
        let path: String
        switch folder.locate(lexical) {
        case .file(let real): path = real
        case .outside:
            return refuse(
                .outsideFolder, "\(relativePath) is a symlink to a file outside the handler folder; it is not read")
        case .missing: return refuse(.unreadable, "\(relativePath) does not exist")
        case .directory: return refuse(.unreadable, "\(relativePath) is a directory")
        case .special:
            return refuse(
                .unreadable, "\(relativePath) is not a regular file (a FIFO, socket or device); it is not opened")
        case .failed(let code):
            return refuse(.unreadable, "cannot read \(relativePath): \(HandlerFolder.describe(errno: code))")
        }
        if let record = records["./" + folder.relative(path)] { return .loaded(record) }
        isLoadingEntry = true
        defer { isLoadingEntry = false }
        switch sources.read(path, in: folder, isStatic: isLoadingEntry) {
        case .failure(let failure): return refuse(.unreadable, "cannot read \(relativePath): \(failure.description)")
        case .success(let source):
            let record = Record(path: path, relativePath: folder.relative(path), source: source)
            records[record.name] = record
            _ = compile(record)
            return .loaded(record)
        }
    }

    /// Why `entry` cannot load within the budget once compiled, or nil: its graph's compiled modules are summed, so
    /// the answer does not depend on what else the context holds.
    package func compiledProblem(of entry: Record) -> ModuleProblem? {
        let bytes = graph(of: entry).reduce(0) { $0 + $1.compiledBytes }
        return budget.compiledProblem(file: entry.relativePath, compiledBytes: bytes)
    }

    /// The records `entry` reaches through its imports, itself first, depth-first.
    package func graph(of entry: Record) -> [Record] {
        var seen: Set<String> = [entry.name]
        var order: [Record] = []
        var stack = [entry]
        while let record = stack.popLast() {
            order.append(record)
            for name in record.imports.reversed() where seen.insert(name).inserted {
                if let next = records[name] { stack.append(next) }
            }
        }
        return order
    }

    // MARK: JSModuleHost

    package func moduleName(for specifier: String, importedBy importerName: String) -> String {
        guard let importer = records[importerName] else { return Self.unresolvedName }
        importer.isResolvingImports = true
        let problemCount = importer.problems.count
        let name = resolveName(for: specifier, importer: importer)
        if !isLoadingEntry {
            // Running code asked (a dynamic import, or a static one of the module it imports): nothing is recorded per
            // request, and a failure resolves to a stand-in of its own that throws the problem, with file and line.
            // One per importer and specifier, so a handler retrying an import adds no module.
            guard importer.problems.count > problemCount, let problem = importer.problems.popLast() else { return name }
            let standIn = "\(Self.unresolvedName)/\(importer.relativePath)/\(specifier)"
            runtimeProblems[standIn] = problem
            return standIn
        }
        importer.requests.append((specifier, name))
        return name
    }

    private func resolveName(for specifier: String, importer: Record) -> String {
        switch resolve(specifier, from: importer) {
        case .builtin(let name):
            return name
        case .problem(let kind, let message):
            importer.problems.append(importProblem(kind, message, specifier: specifier, in: importer))
            return Self.unresolvedName
        case .file(let path):
            let relativePath = folder.relative(path)
            let name = "./" + relativePath
            if records[name] == nil {
                switch sources.read(path, in: folder, isStatic: isLoadingEntry) {
                case .failure(let failure):
                    let message =
                        "cannot read \(relativePath) (imported as '\(specifier)' by "
                        + "\(importer.relativePath)): \(failure.description)"
                    importer.problems.append(importProblem(.unreadable, message, specifier: specifier, in: importer))
                    return Self.unresolvedName
                case .success(let source):
                    records[name] = Record(path: path, relativePath: relativePath, source: source)
                }
            }
            if !importer.imports.contains(name) { importer.imports.append(name) }
            // A file that failed to compile stays an import (its problem belongs to the graph) but resolves to the
            // stand-in: QuickJS freed its module.
            return records[name]?.failedToCompile == true ? Self.unresolvedName : name
        }
    }

    package func module(named name: String, in context: JSContext) -> JSModule? {
        if name == Self.unresolvedName { return unresolved }
        if let problem = runtimeProblems[name] {
            return context.newCModule(name: name, exports: []) { context, _ in
                _ = context.throwTypeError(problem.description)
                return false
            }
        }
        guard let record = records[name] else {
            context.throwInternalError("berth's module loader was asked for \(name), which it never resolved")
            return nil
        }
        if let module = record.module { return module }
        if !isLoadingEntry, compileDepth == 0, record.failedToCompile || compile(record) == nil, !isPoisoned,
            let problem = record.problems.last
        {
            // A file that a dynamic import() names and that does not compile fails that import with its syntax error.
            // Safe only here, at the top of the request: no module exists for QuickJS to have resolved half-way.
            _ = context.throwTypeError(problem.description)
            return nil
        }
        if let module = record.module { return module }
        if record.failedToCompile { return unresolved }
        if let module = compile(record) { return module }
        if isPoisoned {
            context.throwInternalError("compiling \(record.relativePath) failed: \(poisonCause?.message ?? "")")
            return nil
        }
        return unresolved
    }

    // MARK: Compiling

    private func compile(_ record: Record) -> JSModule? {
        compileDepth += 1
        defer { compileDepth -= 1 }
        if let problem = budget.sourceProblem(file: record.relativePath, bytes: record.source.count) {
            record.failedToCompile = true
            record.problems.append(problem)
            return nil
        }
        // QuickJS compiles the imports from inside this call: what they hold is counted in their own records.
        let (heapBefore, compiledBefore) = (context.runtime.heapBytes, compiledBytes)
        defer {
            let grown = context.runtime.heapBytes - heapBefore
            record.compiledBytes = max(0, grown - (compiledBytes - compiledBefore))
            compiledBytes = compiledBefore + max(0, grown)
        }
        do {
            let source = record.source
            let module = try context.runtime.withoutMemoryLimit { () throws(JSError) in
                try context.compileModule(source, name: record.name)
            }
            record.module = module
            return module
        } catch {
            if record.isResolvingImports || error.isOutOfMemory {
                isPoisoned = true
                poisonCause = poisonCause ?? error
                return nil
            }
            record.failedToCompile = true
            let message =
                error.isStackOverflow
                ? "\(record.relativePath) is nested too deeply to compile (QuickJS ran out of stack), "
                    + "or is imported through too long a chain of imports"
                : "\(error.name): \(error.message)"
            record.problems.append(
                ModuleProblem(
                    kind: .syntax, file: record.relativePath, line: error.line, column: error.column, message: message))
            return nil
        }
    }

    // MARK: Resolving

    package enum Resolution: Equatable {
        case builtin(String)
        case file(String)
        case problem(ModuleProblem.Kind, String)
    }

    /// Where `specifier` leads from `importer`, by Node's ESM rules within the folder: a relative specifier names the
    /// file in full; `node:buffer` and `node:events` (with or without `node:`) are built in; nothing else is.
    package func resolve(_ specifier: String, from importer: Record) -> Resolution {
        let quoted = "'\(specifier)' (imported by \(importer.relativePath))"
        if let builtin = Self.builtins.first(where: { $0.name == specifier || $0.aliases.contains(specifier) }) {
            return .builtin(builtin.name)
        }
        if specifier.hasPrefix(Self.internalPrefix) {
            return .problem(
                .unknownBuiltin,
                "cannot import \(quoted): berth's own modules are internal to its handler runtime; handlers can only "
                    + "import files of the folder by relative path ('./x.js') and node:buffer / node:events")
        }
        if specifier.hasPrefix("/") || specifier.hasPrefix("file:") {
            return .problem(
                .outsideFolder,
                "\(quoted) is an absolute path; import files of the folder by a relative path such as './lib/x.js'")
        }
        let lexical = HandlerFolder.join(HandlerFolder.directory(of: importer.path), specifier)
        guard specifier == "." || specifier == ".." || specifier.hasPrefix("./") || specifier.hasPrefix("../") else {
            // Like Node, name the file a bare specifier was probably meant to be.
            var isFile = false
            if !specifier.contains(":"), folder.contains(lexical), case .file = folder.locate(lexical) { isFile = true }
            return .problem(
                .unknownBuiltin,
                "cannot import \(quoted): handlers can only import files of the folder by relative path ('./x.js') "
                    + "and node:buffer / node:events" + (isFile ? "; did you mean './\(specifier)'?" : ""))
        }
        guard folder.contains(lexical) else {
            return .problem(
                .outsideFolder,
                "\(quoted) leads outside the handler folder; handlers may import only files inside it")
        }
        switch folder.locate(lexical) {
        case .file(let path):
            return .file(path)
        case .outside:
            return .problem(
                .outsideFolder,
                "\(quoted) resolves through a symlink to a file outside the handler folder; it is not read")
        case .missing:
            return .problem(
                .importNotFound,
                "cannot find '\(specifier)' imported by \(importer.relativePath): there is no file "
                    + folder.relative(lexical) + suggestion(for: specifier, at: lexical))
        case .directory:
            return .problem(
                .importNotFound,
                "cannot import \(quoted): \(folder.relative(lexical)) is a directory; name the file in full"
                    + suggestion(for: specifier, at: lexical))
        case .special:
            return .problem(
                .unreadable,
                "\(quoted) is not a regular file (a FIFO, socket or device); it is not opened")
        case .failed(let code):
            return .problem(.unreadable, "cannot read \(quoted): \(HandlerFolder.describe(errno: code))")
        }
    }

    /// Node's ESM resolver guesses no extension and no index file; the hint names the one that exists.
    private func suggestion(for specifier: String, at lexical: String) -> String {
        let trimmed = specifier.hasSuffix("/") ? String(specifier.dropLast()) : specifier
        for suffix in [".js", "/index.js"] {
            let candidate = lexical + suffix
            if folder.contains(candidate), case .file = folder.locate(candidate) {
                return "; did you mean '\(trimmed + suffix)'?"
            }
        }
        return ""
    }

    private func importProblem(
        _ kind: ModuleProblem.Kind, _ message: String, specifier: String, in importer: Record
    ) -> ModuleProblem {
        let position = SourceText.position(ofSpecifier: specifier, in: importer.source)
        return ModuleProblem(
            kind: kind, file: importer.relativePath, line: position?.line, column: position?.column,
            message: message, specifier: specifier)
    }

    // MARK: Link errors

    /// Places a linking error (QuickJS: "Could not find export 'x' in module 'm'", "… is ambiguous", "circular …")
    /// in the file that has it, among the records of one entry's graph. QuickJS names the module searched (cut at 63
    /// bytes) but not the importer. If that module re-exports the name (`export { x } from`), the fault is its own;
    /// otherwise it is in the graph file that imports the module, preferably one that names `x`.
    package func linkProblem(_ error: JSError, in graph: [Record]) -> ModuleProblem {
        let quoted = error.message.split(separator: "'", omittingEmptySubsequences: false)
        let exportName = quoted.count > 1 ? String(quoted[1]) : ""
        let moduleName = quoted.count > 3 ? String(quoted[3]) : ""
        let target =
            graph.first { $0.name == moduleName }
            ?? graph.first { moduleName.utf8.count >= 60 && $0.name.hasPrefix(moduleName) }
        let shown = target?.relativePath ?? moduleName
        let isCircular = error.message.hasPrefix("circular")
        let isAmbiguous = error.message.contains("ambiguous")
        if let target {
            for request in target.requests {
                guard let position = SourceText.reexport(of: exportName, from: request.specifier, in: target.source)
                else { continue }
                let outcome =
                    isCircular
                    ? "and the re-exports go round in a circle"
                    : isAmbiguous ? "where more than one `export *` provides it" : "which does not export it"
                return ModuleProblem(
                    kind: .syntax, file: target.relativePath, line: position.line, column: position.column,
                    message: "SyntaxError: \(shown) re-exports '\(exportName)' from '\(request.specifier)', \(outcome)",
                    specifier: request.specifier)
            }
        }
        let reason =
            isCircular
            ? "importing '\(exportName)' from \(shown) goes round in a circle of re-exports"
            : isAmbiguous
                ? "'\(exportName)' is ambiguous in \(shown): more than one `export *` provides it"
                : "\(shown) does not export '\(exportName)'"
        let targetName = target?.name ?? moduleName
        let importers = graph.compactMap { record in
            record.requests.first { $0.name == targetName }.map { (record: record, specifier: $0.specifier) }
        }
        guard
            let chosen = importers.first(where: { SourceText.mentions(exportName, in: $0.record.source) })
                ?? importers.first
        else {
            return ModuleProblem(
                kind: .syntax, file: graph.first?.relativePath ?? "", message: "SyntaxError: \(reason)")
        }
        let position = SourceText.position(ofSpecifier: chosen.specifier, naming: exportName, in: chosen.record.source)
        return ModuleProblem(
            kind: .syntax, file: chosen.record.relativePath, line: position?.line, column: position?.column,
            message: "SyntaxError: \(reason)", specifier: chosen.specifier)
    }
}

/// The bytes of every file read, by real path, kept as long as their owner (an inspector) lives: the contexts it
/// replaces along the way compile the same bytes, so all entries of one inspection see one version of each file.
package final class SourceCache {
    private var contents: [String: Result<[UInt8], HandlerFolder.ReadFailure>] = [:]
    /// Bytes already read by the compiler, by path relative to the folder: served instead of the file's current bytes.
    private let compiled: [String: [UInt8]]

    /// A cache that serves `compiled` (the plan's `sources`) for the files it holds. With compiled bytes, a static
    /// import or entry outside them is refused (`notCompiled`): it changed since the compile, and only checked code
    /// runs; a dynamic `import()` of a computed path, which no compile can see, is read. Without, every file is read
    /// once.
    package init(compiled: [String: [UInt8]] = [:]) { self.compiled = compiled }

    func read(_ path: String, in folder: HandlerFolder, isStatic: Bool) -> Result<[UInt8], HandlerFolder.ReadFailure> {
        if let known = contents[path] { return known }
        let result: Result<[UInt8], HandlerFolder.ReadFailure>
        if let bytes = compiled[folder.relative(path)] {
            result = .success(bytes)
        } else if isStatic, !compiled.isEmpty {
            return .failure(.notCompiled)
        } else {
            result = folder.read(path)
        }
        contents[path] = result
        return result
    }
}
