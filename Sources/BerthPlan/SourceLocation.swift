/// Where a diagnostic points: a file relative to the handler folder, and a 1-based line and column when known.
package struct SourceLocation: Hashable, Sendable, Comparable {
    package var file: String
    package var line: Int?
    package var column: Int?

    package init(file: String, line: Int? = nil, column: Int? = nil) {
        (self.file, self.line, self.column) = (file, line, column)
    }

    package init(file: String, _ position: TextPosition) {
        self.init(file: file, line: position.line, column: position.column)
    }

    /// `file`, `file:line` or `file:line:col`, as compilers print it.
    package var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let line = line, line > 0, let column { text += ":\(column)" }
        return text
    }

    package static func < (a: Self, b: Self) -> Bool {
        (a.file, a.line ?? 0, a.column ?? 0) < (b.file, b.line ?? 0, b.column ?? 0)
    }
}

/// A 1-based line and column (columns count Unicode scalars) in a text file.
package struct TextPosition: Hashable, Sendable {
    package var line: Int
    package var column: Int
    package init(line: Int, column: Int) { (self.line, self.column) = (line, column) }
}
