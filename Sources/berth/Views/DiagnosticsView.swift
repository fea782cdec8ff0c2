import BerthPlan
import Foundation

/// Renders diagnostics in the three formats `validate` offers. Pure: input in, text out, so tests compare goldens.
enum DiagnosticsView {
    /// Compiler style: `file:line:col: severity[code]: message`, the source line with a caret, then the hint.
    static func text(_ diagnostics: [Diagnostic], folder: String, styling: Styling,
                     sourceLine: (String, Int) -> String?) -> String {
        var out = ""
        for diagnostic in diagnostics {
            let place = diagnostic.location.map { folderRelative(folder, $0.description) + ": " } ?? (folder + ": ")
            let severity: String
            switch diagnostic.severity {
            case .error: severity = styling.red("error[\(diagnostic.code.rawValue)]")
            case .warning: severity = styling.yellow("warning[\(diagnostic.code.rawValue)]")
            case .info: severity = styling.cyan("info[\(diagnostic.code.rawValue)]")
            }
            out += styling.bold(place) + severity + ": " + styling.bold(diagnostic.message) + "\n"
            if let location = diagnostic.location, let line = location.line, let text = sourceLine(location.file, line) {
                let gutter = String(line)
                out += styling.dim(" \(gutter) | ") + text + "\n"
                if let column = location.column, column >= 1 {
                    let pad = String(text.unicodeScalars.prefix(column - 1).map { $0 == "\t" ? "\t" : " " })
                    out += styling.dim(" \(String(repeating: " ", count: gutter.count)) | ") + pad + styling.green("^") + "\n"
                }
            }
            for related in diagnostic.related {
                out += "  " + styling.dim("note:") + " see \(folderRelative(folder, related.description))\n"
            }
            if let hint = diagnostic.hint { out += "  " + styling.cyan("hint:") + " \(hint)\n" }
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
        return "\(folder): \(verdict): \(counts); \(served)\n"
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
            var message = diagnostic.message
            if let hint = diagnostic.hint { message += "\nhint: \(hint)" }
            out += "::\(command) \(properties.joined(separator: ","))::\(escapeData(message))\n"
        }
        return out
    }

    /// `examples/manifest.json` from folder `examples` and file `manifest.json`.
    static func folderRelative(_ folder: String, _ file: String) -> String {
        folder == "." ? file : (folder.hasSuffix("/") ? folder + file : folder + "/" + file)
    }

    private static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    private static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
}
