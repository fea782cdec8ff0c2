import BerthJS
import BerthPlan

extension Compilation {
    /// Compiles every live entry as an ES module (never running it), follows its imports, checks its exports.
    mutating func checkModules() {
        let inspector = ModuleInspector(folder: scan.folder, heapLimit: options.heapLimit)
        for index in liveIndices {
            guard let parsed = candidates[index].parsed else { continue }
            let file = candidates[index].fileName
            let inspection = inspector.inspect(entry: file)
            for path in inspection.files {
                // Hash the bytes that were compiled: a file rewritten since then must not pass as checked.
                if let bytes = inspection.sources[path] {
                    let source = CompiledSource(bytes: bytes)
                    fileHashes[path] = source.sha256
                    moduleSources[path] = source
                } else {
                    _ = read(path)
                }
            }
            candidates[index].imports = inspection.files.filter { $0 != file }
            candidates[index].exports = inspection.exports.keys.sorted()
            for problem in inspection.problems {
                if problem.kind == .importNotFound, let specifier = problem.specifier {
                    // Where the import looks, folded as URL resolution folds it: the broker watches for it to appear.
                    let importer = HandlerFolder.directory(of: "/" + problem.file)
                    awaitedFiles.insert(String(HandlerFolder.join(importer, specifier).dropFirst()))
                }
                let diagnostic = Self.diagnostic(for: problem)
                report(diagnostic)
                candidates[index].refusals.append(diagnostic.code)
            }
            guard inspection.problems.isEmpty else { continue }
            checkExports(inspection.exports, of: parsed, in: file, index: index)
        }
    }

    private mutating func checkExports(
        _ exports: [String: ModuleInspection.ExportValue], of parsed: HandlerFileName, in file: String, index: Int
    ) {
        let location = SourceLocation(file: file)
        let required = parsed.transport.entryExport
        if exports[required] == nil {
            let signature = parsed.transport == .tcp ? "handle(conn, ctx)" : "message(msg, rinfo, ctx)"
            report(Diagnostic(.moduleMissingExport, .error, at: location,
                "\(file) is a \(parsed.transport.rawValue.uppercased()) handler but does not export \"\(required)\"",
                hint: "add: export function \(signature) { … }"))
            candidates[index].refusals.append(.moduleMissingExport)
        }
        for name in [required, "open", "close"].sorted() {
            guard case .notFunction(let kind)? = exports[name] else { continue }
            report(Diagnostic(.moduleExportNotFunction, .error, at: location,
                "the export \"\(name)\" of \(file) is \(Self.withArticle(kind)), not a function",
                hint: "export a function: export function \(name)(…) { … }"))
            candidates[index].refusals.append(.moduleExportNotFunction)
        }
        let other: Transport = parsed.transport == .tcp ? .udp : .tcp
        if exports[other.entryExport] != nil {
            report(Diagnostic(.moduleOtherTransportExport, .warning, at: location,
                "\(file) exports \"\(other.entryExport)\", the \(other.rawValue.uppercased()) contract, but is served over \(parsed.transport.rawValue.uppercased()); it will never be called",
                hint: "if this is a \(other.rawValue.uppercased()) handler, rename the file to \(parsed.name).\(other.rawValue).\(parsed.port).port.js"))
        }
    }

    /// "a number", "an object", "null": the kind of a non-function export as a sentence says it.
    private static func withArticle(_ kind: String) -> String {
        if ["null", "undefined"].contains(kind) { return kind }
        return (kind.first.map { "aeiou".contains($0) } == true ? "an " : "a ") + kind
    }

    private static func diagnostic(for problem: ModuleProblem) -> Diagnostic {
        let location = SourceLocation(file: problem.file, line: problem.line, column: problem.column)
        switch problem.kind {
        case .syntax:
            return Diagnostic(.moduleSyntax, .error, at: location, problem.message,
                              hint: "fix the syntax; every entry and import is compiled as an ES module")
        case .importNotFound:
            return Diagnostic(.moduleImportNotFound, .error, at: location, problem.message,
                              hint: "imports are relative to the importing file and name the file in full (./lib/util.js)")
        case .outsideFolder:
            return Diagnostic(.moduleOutsideFolder, .error, at: location, problem.message,
                              hint: "move the code into the folder and import it by a relative path")
        case .unknownBuiltin:
            return Diagnostic(.moduleUnknownBuiltin, .error, at: location, problem.message,
                              hint: "handlers can import node:buffer, node:events and files of the folder")
        case .tooLarge:
            return Diagnostic(.moduleTooLarge, .error, at: location, problem.message,
                              hint: "split the module, drop what the handler does not need, or give the handler more heap with --heap-limit (validate and serve take the same one)")
        case .unreadable:
            return Diagnostic(.moduleUnreadable, .error, at: location, problem.message,
                              hint: "make the file readable UTF-8 text")
        case .undefinedGlobal:
            let hint = problem.specifier == "require"
                ? "handlers are ES modules: import { Buffer } from \"node:buffer\", import { x } from \"./lib/x.js\""
                : "handlers make no outbound requests of their own; share state between handlers through ctx.shared"
            return Diagnostic(.moduleUndefinedGlobal, .error, at: location, problem.message, hint: hint)
        }
    }
}
