import BerthCompiler
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// A directory of the folder swapped for a symlink to an outside directory while `validate` runs: no outside byte
/// reaches a diagnostic, through an import or a TLS file (before every file was opened beneath the folder, runs
/// printed the PEM labels of an outside file).
@Suite(.timeLimit(.minutes(2)))
struct ConfinementRaceTests {
    @Test func validateNeverReadsThroughASwappedDirectory() throws {
        let folder = try TemporaryFolder()
        let outside = try TemporaryFolder("berth-outside")
        try folder.write([
            "echo.tcp.7000.port.js": "import { x } from './lib/x.js';\nexport function handle(c) { c.end(x); }\n",
            "lib/x.js": "export const x = 1;\n", "lib/echo.pem": "-----BEGIN INSIDE-----\n-----END INSIDE-----\n",
            "manifest.json": """
                {"version": 1, "handlers": {"echo": {"tls": {"cert": "lib/echo.pem", "key": "lib/echo.pem"}}}}
                """,
        ])
        try outside.write("lib/x.js", "export const x = OUTSIDE_SECRET OUTSIDE_SECRET;\n")
        try outside.write("lib/echo.pem", "-----BEGIN OUTSIDE_SECRET-----\n-----END OUTSIDE_SECRET-----\n")
        try folder.symlink("swap", to: outside.path + "/lib")
        let swapper = try PathSwapper(folder.path + "/lib", folder.path + "/swap")
        defer { swapper.stop() }
        var (runs, served) = (0, 0)
        let deadline = Date().addingTimeInterval(3)
        while runs < 5_000, Date() < deadline {
            runs += 1
            let plan = try Compiler.compile(folder: folder.path)
            let leaked = plan.diagnostics.filter { $0.message.contains("OUTSIDE") || $0.code == .moduleSyntax }
            #expect(leaked.isEmpty, "\(Golden.render(leaked))")
            if !leaked.isEmpty { return }
            served += plan.diagnostics.contains { $0.message.contains("INSIDE") } ? 1 : 0
        }
        #expect(swapper.stop() > 0 && served > 0, "\(served) of \(runs) runs read the inside files")
    }

    /// `"external": true` still opts a TLS file outside the folder in: it is read (here: found not to be PEM), and a
    /// missing one is missing, not outside.
    @Test func externalTLSFilesAreReadOutsideTheFolder() throws {
        let folder = try TemporaryFolder()
        let outside = try TemporaryFolder("berth-outside")
        try outside.write("echo.pem", "-----BEGIN OUTSIDE-----\n-----END OUTSIDE-----\n")
        for (file, code) in [("echo.pem", Diagnostic.Code.tlsInvalidPEM), ("gone.pem", .tlsFileMissing)] {
            try folder.write([
                "echo.tcp.7000.port.js": "export function handle(c) { c.end(); }\n",
                "manifest.json": """
                    {"version": 1, "handlers": {"echo": {"tls": {"cert": "\(outside.path)/\(file)",
                      "key": "\(outside.path)/\(file)", "external": true}}}}
                    """,
            ])
            let plan = try Compiler.compile(folder: folder.path)
            #expect(Set(plan.diagnostics.map(\.code)) == [code], "\(Golden.render(plan.diagnostics))")
        }
    }
}
