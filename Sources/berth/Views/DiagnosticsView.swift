import BerthPlan
import Foundation

/// Renders diagnostics in the three formats `validate` offers. Pure: input in, text out, so tests compare goldens.
enum DiagnosticsView {
    /// Compiler style: `file:line:col: severity[code]: message`, the source line with a caret, then the hint. Text
    /// from the folder is printed through `PrintableText`.
    static func text(_ diagnostics: [Diagnostic], folder: String, styling: Styling,
                     sourceLine: (String, Int) -> Substring?) -> String {
        func printable(_ text: some StringProtocol) -> String { PrintableText.escaped(text) }
        var out = ""
        for diagnostic in diagnostics {
            let place = printable(diagnostic.location.map { folderRelative(folder, $0.description) } ?? folder) + ": "
            let severity: String
            switch diagnostic.severity {
            case .error: severity = styling.red("error[\(diagnostic.code.rawValue)]")
            case .warning: severity = styling.yellow("warning[\(diagnostic.code.rawValue)]")
            case .info: severity = styling.cyan("info[\(diagnostic.code.rawValue)]")
            }
            out += styling.bold(place) + severity + ": " + styling.bold(printable(diagnostic.message)) + "\n"
            if let location = diagnostic.location, let line = location.line, let text = sourceLine(location.file, line) {
                let gutter = String(line)
                out += styling.dim(" \(gutter) | ") + printable(text) + "\n"
                if let column = location.column, column >= 1 {
                    // As wide as what the line printed before the column: an escape takes its own width.
                    let pad = text.unicodeScalars.prefix(column - 1).map { scalar in
                        scalar == "\t" ? "\t" : String(repeating: " ", count: printable(String(scalar)).count)
                    }.joined()
                    out += styling.dim(" \(String(repeating: " ", count: gutter.count)) | ") + pad + styling.green("^") + "\n"
                }
            }
            for related in diagnostic.related {
                out += "  " + styling.dim("note:") + " see \(printable(folderRelative(folder, related.description)))\n"
            }
            if let hint = diagnostic.hint { out += "  " + styling.cyan("hint:") + " \(printable(hint))\n" }
        }
        return out
    }

    /// `errors, warnings` in words, as the last line of a run.
    static func summary(_ diagnostics: [Diagnostic], folder: String, endpoints: Int, refused: Int, styling: Styling) -> String {
        let errors = diagnostics.errorCount
        let warnings = diagnostics.warningCount
        let counts = "\(plural(errors, "error")), \(plural(warnings, "warning"))"
        let served = "\(plural(endpoints, "endpoint")) served, \(refused) refused"
        let verdict = errors > 0 ? styling.red("failed") : styling.green("ok")
        return "\(PrintableText.escaped(folder)): \(verdict): \(counts); \(served)\n"
    }

    /// `schemas/diagnostics.schema.json`.
    static func json(_ plan: DeploymentPlan, folder: String) -> String {
        let diagnostics = plan.diagnostics
        let document: JSONValue = [
            "formatVersion": 1,
            "folder": .string(folder),
            "summary": [
                "errors": .int(diagnostics.errorCount),
                "warnings": .int(diagnostics.warningCount),
                "infos": .int(diagnostics.count { $0.severity == .info }),
                "endpoints": .int(plan.endpoints.count),
                "refused": .int(plan.refused.count),
            ],
            "diagnostics": .array(diagnostics.map(\.json)),
        ]
        return JSONWriter.pretty(document)
    }

    /// GitHub Actions workflow commands: one annotation per diagnostic, on the file in the repository.
    static func github(_ diagnostics: [Diagnostic], folder: String) -> String {
        var out = ""
        for diagnostic in diagnostics {
            let command = switch diagnostic.severity {
            case .error: "error"
            case .warning: "warning"
            case .info: "notice"
            }
            var properties: [String] = []
            let file = diagnostic.location.map { folderRelative(folder, $0.file) } ?? folder
            properties.append("file=\(escapeProperty(file))")
            if let line = diagnostic.location?.line { properties.append("line=\(line)") }
            if let column = diagnostic.location?.column { properties.append("col=\(column)") }
            properties.append("title=\(escapeProperty("berth " + diagnostic.code.rawValue))")
            // The view's own line break is encoded as GitHub reads it (%0A); the folder's text is escaped first, so
            // none of it can end the command or start another.
            var message = PrintableText.escaped(diagnostic.message)
            if let hint = diagnostic.hint { message += "\nhint: \(PrintableText.escaped(hint))" }
            out += "::\(command) \(properties.joined(separator: ","))::\(escapeData(message))\n"
        }
        return out
    }

    /// `examples/manifest.json` from folder `examples` and file `manifest.json`.
    static func folderRelative(_ folder: String, _ file: String) -> String {
        folder == "." ? file : (folder.hasSuffix("/") ? folder + file : folder + "/" + file)
    }

    /// GitHub's escaping of a command's message (`%`, CR, LF) and, for properties, also `:` and `,`. All are ASCII,
    /// so the bytes are rewritten directly (appending scalar by scalar took most of the format's time).
    private static func escapeData(_ text: String, isProperty: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "%"): out += "%25".utf8
            case UInt8(ascii: "\r"): out += "%0D".utf8
            case UInt8(ascii: "\n"): out += "%0A".utf8
            case UInt8(ascii: ":") where isProperty: out += "%3A".utf8
            case UInt8(ascii: ",") where isProperty: out += "%2C".utf8
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func escapeProperty(_ text: String) -> String {
        escapeData(PrintableText.escaped(text), isProperty: true)
    }

    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
}
