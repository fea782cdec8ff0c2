/// What compiling one entry point (and everything it imports) revealed, without running any of it.
package struct ModuleInspection: Sendable {
    /// What an export holds, known without running the module: after linking, function declarations already hold
    /// their function; the entry's own `export const` / `export default` initializers and `export class` are read
    /// from its source (`StaticExports`); everything else waits for evaluation.
    package enum ExportValue: Hashable, Sendable {
        /// A function declaration, or a `const`/default initializer that is exactly a function or arrow expression.
        case function
        /// Never callable, with its `typeof`, or "class" for a class (calling one without `new` throws).
        case notFunction(String)
        /// Known only when the module runs: `let`/`var`, other initializers, `const`s of other files, built-ins.
        case unknown
    }

    /// The entry's export names, re-exports and `export *` included; empty when the entry or any module it imports
    /// has a problem, because the graph is then never linked.
    package var exports: [String: ExportValue]
    /// Every module file read for this entry, relative to the folder (imports by real path), sorted, entry included.
    package var files: [String]
    /// The bytes compiled for each of `files` that could be read, by the same relative path: what the plan hashes and
    /// what `serve` loads, so the code that runs is the code that was checked.
    package var sources: [String: [UInt8]]
    package var problems: [ModuleProblem]

    package init(
        exports: [String: ExportValue] = [:], files: [String], sources: [String: [UInt8]] = [:],
        problems: [ModuleProblem]
    ) {
        (self.exports, self.files, self.sources, self.problems) = (exports, files, sources, problems)
    }
}

/// A reason an entry's module graph cannot load: located in the file that has it (the importing file, for imports).
package struct ModuleProblem: Hashable, Sendable, CustomStringConvertible {
    package enum Kind: Hashable, Sendable {
        /// The file does not compile: a syntax error, a missing or ambiguous named import, or too deeply nested.
        case syntax
        /// The file, or the entry's compiled modules, exceed what `ModuleBudget` allows for the heap limit.
        case tooLarge
        /// A relative import names no file (Node's ESM rules: the full file name, no extension guessing).
        case importNotFound
        /// An import or the entry resolves outside the folder (`../`, an absolute path, a symlink); never read.
        case outsideFolder
        /// A bare specifier other than node:buffer / node:events.
        case unknownBuiltin
        /// The file exists inside the folder but cannot be read as a module (permissions, not a regular file, size).
        case unreadable
        /// A call of a global that berth's runtime does not define (`require`, `fetch`); `specifier` holds its name.
        case undefinedGlobal
    }

    package var kind: Kind
    /// Relative to the folder.
    package var file: String
    /// 1-based, when known.
    package var line: Int?
    /// 1-based, in Unicode code points, when known.
    package var column: Int?
    package var message: String
    /// The import specifier, for import problems.
    package var specifier: String?

    package init(
        kind: Kind, file: String, line: Int? = nil, column: Int? = nil, message: String, specifier: String? = nil
    ) {
        (self.kind, self.file, self.line, self.column, self.message, self.specifier) =
            (kind, file, line, column, message, specifier)
    }

    /// `file:line:col: message`, as logs and errors thrown at run time name it.
    package var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return "\(location): \(message)"
    }
}
