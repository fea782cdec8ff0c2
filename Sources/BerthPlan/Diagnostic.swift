/// A problem in the user's folder or manifest. `code` is stable: CI scripts and `berth explain` refer to it.
package struct Diagnostic: Hashable, Sendable, Comparable {
    package enum Severity: String, Hashable, Sendable, CaseIterable {
        case error, warning, info
    }

    /// A stable identifier, grouped by prefix (`grammar.`, `manifest.`, `module.`, `tls.`). A struct, not an enum,
    /// so adding a code breaks no caller.
    package struct Code: RawRepresentable, Hashable, Sendable, Comparable {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    package var code: Code
    package var severity: Severity
    /// File relative to the folder; nil for problems with no file (an unreadable folder).
    package var location: SourceLocation?
    /// What is wrong, naming the file, key or port.
    package var message: String
    /// The fix, in the imperative: "write 10.0.0.0/8".
    package var hint: String?
    /// Other places the problem involves, e.g. the file that already holds a port.
    package var related: [SourceLocation]

    package init(
        _ code: Code, _ severity: Severity, at location: SourceLocation?, _ message: String, hint: String? = nil,
        related: [SourceLocation] = []
    ) {
        (self.code, self.severity, self.location, self.message, self.hint, self.related) =
            (code, severity, location, message, hint, related)
    }

    /// Diagnostics sort by file, position, then code, so output never depends on the order checks ran in.
    package static func < (a: Self, b: Self) -> Bool {
        let fileA = a.location ?? SourceLocation(file: "")
        let fileB = b.location ?? SourceLocation(file: "")
        if fileA != fileB { return fileA < fileB }
        if a.code != b.code { return a.code < b.code }
        return a.message < b.message
    }
}

extension [Diagnostic] {
    package var errorCount: Int { count { $0.severity == .error } }
    package var warningCount: Int { count { $0.severity == .warning } }
    package var hasErrors: Bool { contains { $0.severity == .error } }
}
