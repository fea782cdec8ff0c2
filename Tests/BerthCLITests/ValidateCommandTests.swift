import BerthPlan
import BerthTestSupport
import Foundation
import Testing

private let fixtures = "Tests/BerthCompilerTests/Fixtures"

/// `berth validate` end to end: each output format and each exit code, through the real executable.
@Suite(.timeLimit(.minutes(5))) struct ValidateCommandTests {
    @Test func examplesAreClean() throws {
        let result = try BerthBinary.run(["validate", "examples"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput == "examples: ok: 0 errors, 0 warnings; 4 endpoints served, 0 refused\n")
    }

    @Test func errorsExitOneInCompilerStyle() throws {
        let result = try BerthBinary.run(["validate", "\(fixtures)/manifest.cidr-host-bits"])
        #expect(result.status == 1)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "\(fixtures)/manifest.cidr-host-bits/manifest.json:5:7: error[manifest.cidr-host-bits]: \"10.0.0.1/8\" has host bits set after the /8 prefix")
        #expect(lines.contains("  hint: write \"10.0.0.0/8\""))
        #expect(lines.contains(" 5 |       \"10.0.0.1/8\","))
        #expect(lines.contains("   |       ^"))
        #expect(!result.standardOutput.contains("\u{1B}["), "no colour on a pipe")
    }

    @Test func warningsPassUnlessStrict() throws {
        let folder = "\(fixtures)/manifest.missing"
        let relaxed = try BerthBinary.run(["validate", folder])
        #expect(relaxed.status == 0)
        #expect(relaxed.standardOutput.contains("warning[manifest.missing]"))
        let strict = try BerthBinary.run(["validate", "--strict", folder])
        #expect(strict.status == 1)
    }

    @Test(arguments: [
        ["validate"], ["validate", "a", "b"], ["validate", "--frobnicate", "examples"], ["validate", "--format", "xml", "examples"],
        ["valdate", "examples"], ["explain"], ["plan"], ["help", "nothing"], ["validate", "--format"],
    ])
    func usageErrorsExitTwo(arguments: [String]) throws {
        let result = try BerthBinary.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.standardError)")
        #expect(result.standardError.hasPrefix("berth: "))
        #expect(result.standardOutput.isEmpty)
    }

    @Test func unknownCommandSuggestsTheRightOne() throws {
        let result = try BerthBinary.run(["valdate", "examples"])
        #expect(result.standardError.contains("did you mean \"validate\"?"))
    }

    @Test func aMissingFolderIsAnInternalErrorNotADiagnostic() throws {
        let result = try BerthBinary.run(["validate", "/nonexistent/berth"])
        #expect(result.status == 2)
        #expect(result.standardError == "berth: error: no such folder: /nonexistent/berth\n")
    }

    @Test func jsonFormatMatchesItsSchema() throws {
        let folder = try TemporaryFolder()
        for fixture in ["manifest.cidr-host-bits", "grammar.port-conflict", "examples"] {
            let path = fixture == "examples" ? "examples" : "\(fixtures)/\(fixture)"
            let result = try BerthBinary.run(["validate", "--format", "json", path])
            #expect(result.status == (fixture == "examples" ? 0 : 1))
            let document = try JSONParser.parse(Array(result.standardOutput.utf8)).plainValue
            #expect(document["formatVersion"] == 1)
            #expect(document["folder"] == .string(path))
            let file = try folder.write("\(fixture).json", result.standardOutput)
            let check = try BerthBinary.checkSchema("diagnostics.schema.json", [file])
            #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
        }
        let conflict = try BerthBinary.run(["validate", "--format", "json", "\(fixtures)/grammar.port-conflict"])
        let document = try JSONParser.parse(Array(conflict.standardOutput.utf8)).plainValue
        let first = try #require(document["diagnostics"]?.arrayValue?.first)
        #expect(first["code"] == "grammar.port-conflict")
        #expect(first["file"] == "b-echo.tcp.7000.port.js")
        #expect(first["related"]?.arrayValue?.first?["file"] == "a-echo.tcp.7000.port.js")
        #expect(document["summary"]?["errors"] == 1)
    }

    @Test func githubFormatEmitsWorkflowAnnotations() throws {
        let result = try BerthBinary.run(["validate", "--format", "github", "\(fixtures)/manifest.cidr-host-bits"])
        #expect(result.status == 1)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "::error file=\(fixtures)/manifest.cidr-host-bits/manifest.json,line=5,col=7,title=berth manifest.cidr-host-bits::\"10.0.0.1/8\" has host bits set after the /8 prefix%0Ahint: write \"10.0.0.0/8\"")
        let warnings = try BerthBinary.run(["validate", "--format", "github", "\(fixtures)/grammar.nested-entry"])
        #expect(warnings.standardOutput.hasPrefix("::notice file=\(fixtures)/grammar.nested-entry/lib/old.tcp.7001.port.js,title=berth grammar.nested-entry::"))
    }

    @Test func colourOnlyOnATerminalAndNeverWithNoColor() throws {
        let folder = "\(fixtures)/manifest.cidr-host-bits"
        let terminal = try BerthBinary.runOnTerminal(["validate", folder])
        #expect(terminal.standardOutput.contains("\u{1B}[1;31merror[manifest.cidr-host-bits]"))
        let noColor = try BerthBinary.runOnTerminal(["validate", folder], environment: ["NO_COLOR": "1"])
        #expect(noColor.standardOutput.contains("error[manifest.cidr-host-bits]"))
        #expect(!noColor.standardOutput.contains("\u{1B}["))
        let forced = try BerthBinary.run(["validate", "--color", "always", folder])
        #expect(forced.standardOutput.contains("\u{1B}["))
    }

    /// A manifest key and a file name carrying ESC, newlines, DEL, a C1 control and a bidi override: no view may put
    /// them on the terminal or start a CI log line with them (`::error` is a GitHub workflow command).
    @Test(arguments: ["text", "github", "json"])
    func controlCharactersFromTheFolderAreEscaped(format: String) throws {
        let folder = try TemporaryFolder()
        let crafted = "\u{1B}[2J\r\n::error title=forged::pwned\u{7F}\u{9B}31m\u{202E}"
        try folder.write("echo.tcp.7000.port.js", "export function handle(conn, ctx) {}\n")
        try folder.write("x" + crafted + ".tcp.7001.port.js", "export function handle(conn, ctx) {}\n")
        // JSON escapes for the C0 controls (raw ones are a syntax error), the others raw, as JSON allows.
        let key = "\\u001b[2J\\r\\n::error title=forged::pwned\u{7F}\u{9B}31m\u{202E}"
        try folder.write("manifest.json", #"{"version": 1, "handlers": {"echo": {"\#(key)": 1}}}"#)
        let result = try BerthBinary.run(["validate", "--format", format, "."], in: folder.path)
        #expect(result.status == 1)
        let output = result.standardOutput
        for forbidden in ["\u{1B}", "\r", "\u{7F}", "\u{9B}", "\u{202E}"] {
            #expect(!output.contains(forbidden), "\(format) output holds \(forbidden.debugDescription)")
        }
        if format != "json" {
            #expect(!output.split(separator: "\n").contains { $0.hasPrefix("::error title=forged") })
        }
        try Golden.expect(output, matches: PackagePaths.path("Tests/BerthCLITests/Golden/control-characters.\(format).txt"))
    }

    /// 20,000 diagnostics on one 350 KB line: each used to count the line's characters again (56 s for the text
    /// format, 0.08 s for JSON in a release build). Linear output takes about 2 s in a debug build; the bound only
    /// catches the quadratic kind.
    @Test(arguments: ["text", "github"])
    func manyDiagnosticsOnOneLongLineRenderInLinearTime(format: String) throws {
        let folder = try TemporaryFolder()
        try folder.write("echo.tcp.7000.port.js", "export function handle(conn, ctx) {}\n")
        let prefixes = (0..<20_000).map { "\"10.\($0 / 256).\($0 % 256).1/24\"" }.joined(separator: ",")
        try folder.write("manifest.json", #"{"version": 1, "defaults": {"allow": [\#(prefixes)]}}"#)
        let start = ContinuousClock.now
        let result = try BerthBinary.run(["validate", "--format", format, folder.path])
        let elapsed = ContinuousClock.now - start
        #expect(result.status == 1)
        #expect(result.standardOutput.components(separatedBy: "cidr-host-bits").count - 1 == 20_000)
        #expect(elapsed < .seconds(15), "\(format): \(elapsed)")
    }
}
