package import BerthPlan
import Foundation
package import Testing

/// Compares output with a checked-in golden file; `UPDATE_GOLDEN=1` rewrites the file instead.
package enum Golden {
    package static func expect(_ actual: String, matches goldenPath: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try Data(actual.utf8).write(to: URL(fileURLWithPath: goldenPath))
            return
        }
        guard let data = FileManager.default.contents(atPath: goldenPath) else {
            Issue.record("missing golden file \(goldenPath); run with UPDATE_GOLDEN=1 to create it", sourceLocation: sourceLocation)
            return
        }
        #expect(actual == String(decoding: data, as: UTF8.self), "golden \(goldenPath)", sourceLocation: sourceLocation)
    }

    /// A plain, colourless rendering of diagnostics for golden files: location, severity, code, message, hint.
    package static func render(_ diagnostics: [Diagnostic]) -> String {
        diagnostics.map { diagnostic in
            var line = "\(diagnostic.location?.description ?? "-"): \(diagnostic.severity.rawValue)[\(diagnostic.code.rawValue)]: \(diagnostic.message)\n"
            for related in diagnostic.related { line += "  related: \(related.description)\n" }
            if let hint = diagnostic.hint { line += "  hint: \(hint)\n" }
            return line
        }.joined()
    }
}

/// Paths inside the package, found from this source file so tests run from any working directory.
package enum PackagePaths {
    package static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    package static func path(_ relative: String) -> String { root + "/" + relative }
}
