package import BerthFolder

/// Inspects the handler modules of one folder without running any of their code: each entry is compiled as an ES
/// module with everything it imports (confined to the folder by `ModuleLoader`), linked, and its exports are read from
/// the linked namespace. One runtime and context serve many entries, so shared files are compiled once per context.
/// Not thread-safe: one thread at a time (any thread) calls `inspect`.
package final class ModuleInspector {
    /// Stack QuickJS may use while compiling (less when the calling thread has less left).
    package static let stackBudget = 1 << 20
    /// Modules a context may hold before it is replaced. QuickJS finds a module by walking a list of all of them, and
    /// each link looks an entry up at the list's end: 10,000 entries in one context spent 2.5 s walking it. Files are
    /// still read once per inspector (`sources`); the next context recompiles the few shared ones.
    package static let modulesPerContext = 1024

    private let folder: HandlerFolder
    private let budget: ModuleBudget
    private let sources = SourceCache()
    /// The runtime, context and loader in use; replaced when an inspection leaves the context unusable or full.
    private var loader: ModuleLoader?
    /// Link wrappers added to the current context.
    private var links = 0

    /// Inspects with the limits of a handler whose heap limit is `heapLimit` (serve's `--heap-limit`): a module
    /// `serve` could not load within it is a problem here.
    package convenience init(folder: String, heapLimit: Int = ModuleBudget.defaultHeapLimit) {
        self.init(folder: HandlerFolder(folder), heapLimit: heapLimit)
    }

    /// Inspects the modules of a folder the caller already opened, so every file is read beneath that one descriptor.
    package convenience init(folder: ConfinedFolder, heapLimit: Int = ModuleBudget.defaultHeapLimit) {
        self.init(folder: HandlerFolder(folder), heapLimit: heapLimit)
    }

    private init(folder: HandlerFolder, heapLimit: Int) {
        self.folder = folder
        self.budget = ModuleBudget(heapLimit: heapLimit)
    }

    /// Inspects the entry at `entry`, a path relative to the folder such as "echo.tcp.7000.port.js".
    package func inspect(entry: String) -> ModuleInspection {
        let loader = self.loader ?? makeLoader()
        self.loader = loader
        var outcome = loader.context.runtime.withoutMemoryLimit { inspectOnce(entry, with: loader) }
        // The heap's limit was lifted: a context that grew past it is dropped, as is one that is unusable or full.
        if outcome.needsFreshContext || loader.records.count + links >= Self.modulesPerContext
            || loader.context.runtime.heapBytes > budget.heapLimit
        {
            self.loader = nil
        }
        if let cause = outcome.cause {
            outcome.inspection.problems.append(
                ModuleProblem(
                    kind: .syntax, file: entry,
                    message: "\(entry) and its imports could not be compiled: \(cause.name): \(cause.message)"))
            outcome.inspection.exports = [:]
        }
        return outcome.inspection
    }

    private struct Outcome {
        var inspection: ModuleInspection
        /// The context may hold dangling or half-linked modules: drop it.
        var needsFreshContext = false
        /// QuickJS failed for want of memory (malloc itself failed) or stack, not because of the folder's code.
        var cause: JSError?
    }

    private func inspectOnce(_ entry: String, with loader: ModuleLoader) -> Outcome {
        loader.context.runtime.enter()
        let record: ModuleLoader.Record
        switch loader.loadEntry(entry) {
        case .refused(let problem):
            return Outcome(inspection: ModuleInspection(files: [entry], problems: [problem]))
        case .loaded(let loaded):
            record = loaded
        }
        if loader.isPoisoned {
            return Outcome(
                inspection: ModuleInspection(files: [entry], problems: []), needsFreshContext: true,
                cause: loader.poisonCause)
        }
        let graph = loader.graph(of: record)
        let (reached, callProblems) = Self.followCalls(from: graph, loader: loader)
        if loader.isPoisoned {
            return Outcome(
                inspection: ModuleInspection(files: [entry], problems: []), needsFreshContext: true,
                cause: loader.poisonCause)
        }
        let records = graph + reached
        var inspection = ModuleInspection(
            files: Array(Set(records.map(\.relativePath) + [entry])).sorted(),
            sources: Dictionary(records.map { ($0.relativePath, $0.source) }, uniquingKeysWith: { first, _ in first }),
            problems: Self.unique(graph.flatMap(\.problems) + callProblems + reached.flatMap(\.problems)))
        if inspection.problems.isEmpty, let problem = loader.compiledProblem(of: record) {
            inspection.problems.append(problem)
        }
        guard inspection.problems.isEmpty, let module = record.module else { return Outcome(inspection: inspection) }
        do {
            links += 1
            let namespace = try loader.context.linkedNamespace(of: module)
            inspection.exports = Self.exports(of: namespace)
            if inspection.exports.values.contains(.unknown) {
                for (name, kind) in StaticExports.kinds(in: record.source) where inspection.exports[name] == .unknown {
                    inspection.exports[name] = kind
                }
            }
            return Outcome(inspection: inspection)
        } catch {
            // A failed link leaves its modules unlinked but with bindings half set: never link them again.
            if error.isOutOfMemory || error.isStackOverflow {
                return Outcome(inspection: inspection, needsFreshContext: true, cause: error)
            }
            inspection.problems.append(loader.linkProblem(error, in: graph))
            return Outcome(inspection: inspection, needsFreshContext: true)
        }
    }

    private func makeLoader() -> ModuleLoader {
        links = 0
        let runtime = JSRuntime(memoryLimit: budget.heapLimit, stackBudget: Self.stackBudget)
        let context = JSContext(runtime: runtime)
        return ModuleLoader(folder: folder, context: context, sources: sources, budget: budget) { context, module in
            context.throwInternalError("\(context.name(of: module)) is not available while inspecting")
            return false
        }
    }

    /// Classifies each export by the value its binding holds after linking: a function declaration's function, or
    /// nothing yet (temporal dead zone, or `undefined` for `var` and for C modules, which are set when evaluated).
    /// `inspectOnce` then asks `StaticExports` about the entry's own `const`, `class` and `default` exports.
    private static func exports(of namespace: borrowing JSRef) -> [String: ModuleInspection.ExportValue] {
        var exports: [String: ModuleInspection.ExportValue] = [:]
        for name in namespace.ownPropertyNames {
            guard let value = namespace.property(name), !value.isUndefined else {
                exports[name] = .unknown
                continue
            }
            exports[name] = value.isFunction ? .function : .notFunction(value.typeName)
        }
        return exports
    }

    /// Follows what the graph's sources show beyond static imports (`StaticCalls`): each `import("./literal.js")` is
    /// resolved and its file compiled with its own graph, as a static import would be, and calls of globals berth
    /// does not define are problems. Returns the records reached only that way, and the problems found.
    private static func followCalls(
        from graph: [ModuleLoader.Record], loader: ModuleLoader
    ) -> (reached: [ModuleLoader.Record], problems: [ModuleProblem]) {
        var records = graph
        var seen = Set(graph.map(\.name))
        var problems: [ModuleProblem] = []
        var next = 0
        while next < records.count, !loader.isPoisoned {
            let record = records[next]
            next += 1
            for finding in record.calls {
                let (line, column) = SourceText.lineAndColumn(at: finding.offset, in: record.source)
                func problem(_ kind: ModuleProblem.Kind, _ message: String, _ specifier: String) -> ModuleProblem {
                    ModuleProblem(
                        kind: kind, file: record.relativePath, line: line, column: column, message: message,
                        specifier: specifier)
                }
                switch finding.kind {
                case .undefinedGlobal(let name):
                    problems.append(
                        problem(
                            .undefinedGlobal,
                            "\(record.relativePath) calls \(name)(), which berth's handlers do not have: "
                                + "it throws a ReferenceError when reached", name))
                case .dynamicImport(let specifier):
                    switch loader.resolve(specifier, from: record) {
                    case .builtin: continue
                    case .problem(let kind, let message): problems.append(problem(kind, message, specifier))
                    case .file(let path):
                        switch loader.loadEntry(loader.folder.relative(path)) {
                        case .refused(let refusal):
                            problems.append(problem(refusal.kind, refusal.message, specifier))
                        case .loaded(let target):
                            for reached in loader.graph(of: target) where seen.insert(reached.name).inserted {
                                records.append(reached)
                            }
                        }
                    }
                }
            }
        }
        return (Array(records.dropFirst(graph.count)), problems)
    }

    /// The problems in first-seen order without repeats (a file reached twice reports once).
    private static func unique(_ problems: [ModuleProblem]) -> [ModuleProblem] {
        var seen: Set<ModuleProblem> = []
        return problems.filter { seen.insert($0).inserted }
    }
}
