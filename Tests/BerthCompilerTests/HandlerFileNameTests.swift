import BerthCompiler
import BerthPlan
import BerthTestSupport
import Testing

@Suite struct HandlerFileNameTests {
    @Test(arguments: [
        ("echo.tcp.7000.port.js", "echo", Transport.tcp, 7000),
        ("ping.udp.9000.port.js", "ping", .udp, 9000),
        ("a.tcp.1.port.js", "a", .tcp, 1),
        ("top.udp.65535.port.js", "top", .udp, 65535),
        ("Web-API_2.tcp.8080.port.js", "Web-API_2", .tcp, 8080),
        ("9lives.tcp.99.port.js", "9lives", .tcp, 99),
    ])
    func validNames(file: String, name: String, transport: Transport, port: Int) throws {
        let parsed = try #require(HandlerFileName.parse(file).name)
        #expect(parsed == HandlerFileName(name: name, transport: transport, port: port))
    }

    @Test(arguments: [
        ("echo.TCP.7000.port.js", "grammar.transport", "rename to echo.tcp.7000.port.js"),
        ("echo.Udp.7000.port.js", "grammar.transport", "rename to echo.udp.7000.port.js"),
        ("echo.sctp.1.port.js", "grammar.transport", "write tcp or udp"),
        ("echo.7000.port.js", "grammar.transport", "rename to echo.tcp.7000.port.js"),
        ("echo.tcp.0.port.js", "grammar.port-range", "1 to 65535"),
        ("echo.tcp.65536.port.js", "grammar.port-range", "1 to 65535"),
        ("echo.tcp.70000.port.js", "grammar.port-range", "1 to 65535"),
        ("echo.tcp.07000.port.js", "grammar.port", "rename to echo.tcp.7000.port.js"),
        ("echo.tcp.+7000.port.js", "grammar.port", "rename to echo.tcp.7000.port.js"),
        ("echo.tcp.-7000.port.js", "grammar.port", "rename to echo.tcp.7000.port.js"),
        ("echo.tcp.7k.port.js", "grammar.port", "decimal port"),
        ("echo.tcp..port.js", "grammar.port", "decimal port"),
        ("my.echo.tcp.7000.port.js", "grammar.name", "rename to my-echo.tcp.7000.port.js"),
        ("tcp.7000.port.js", "grammar.name", "rename to handler.tcp.7000.port.js"),
        (".tcp.7000.port.js", "grammar.name", "rename to handler.tcp.7000.port.js"),
        ("-echo.tcp.7000.port.js", "grammar.name", "rename to echo.tcp.7000.port.js"),
        ("ec ho.tcp.7000.port.js", "grammar.name", "rename to ec-ho.tcp.7000.port.js"),
    ])
    func invalidNames(file: String, code: String, hintFragment: String) {
        guard case .invalid(let problems) = HandlerFileName.parse(file) else {
            Issue.record("\(file) parsed"); return
        }
        let matching = problems.filter { $0.code.rawValue == code }
        #expect(matching.count == 1, "\(file): \(problems.map(\.code.rawValue))")
        #expect(matching.first?.hint?.contains(hintFragment) == true, "\(file): \(matching.first?.hint ?? "no hint")")
        #expect(matching.first?.location == SourceLocation(file: file))
    }

    /// U+070F joins the dot after it into one Character, which hid ".port.js" from String.hasSuffix: parse's
    /// precondition then stopped the process (found by FuzzHandlerFileName; seed prepended-mark-before-suffix).
    @Test func aMarkJoiningTheDotDoesNotHideTheSuffix() throws {
        let name = "0\u{070F}.port.js"
        #expect(!name.hasSuffix(HandlerFileName.suffix) && HandlerFileName.hasEntrySuffix(name))
        guard case .invalid(let problems) = HandlerFileName.parse(name) else {
            Issue.record("\(name) parsed as an entry")
            return
        }
        #expect(!problems.isEmpty)
        let folder = try TemporaryFolder()
        try folder.write([name: tcpHandler, "manifest.json": minimalManifest])
        let plan = try Compiler.compile(folder: folder.path)
        #expect(plan.endpoints.isEmpty && plan.diagnostics.hasErrors)
    }

    @Test func everyProblemOfOneNameIsReported() {
        guard case .invalid(let problems) = HandlerFileName.parse("my.echo.TCP.07000.port.js") else {
            Issue.record("parsed"); return
        }
        #expect(Set(problems.map(\.code)) == [.grammarTransport, .grammarPort, .grammarName])
        // Each hint proposes the same, fully fixed name.
        #expect(problems.allSatisfy { $0.hint == "rename to my-echo.tcp.7000.port.js" })
    }

    @Test(arguments: [
        ("stats.udp.9001.js", "stats.udp.9001.port.js"),
        ("stats.udp.9001.port.mjs", "stats.udp.9001.port.js"),
        ("stats.udp.9001.port.cjs", "stats.udp.9001.port.js"),
        ("stats.udp.9001.port.JS", "stats.udp.9001.port.js"),
        ("stats.udp.9001.PORT.js", "stats.udp.9001.port.js"),
        ("stats.udp.9001.port.ts", "stats.udp.9001.port.js"),
        ("stats.udp.9001.port", "stats.udp.9001.port.js"),
        ("Stats.UDP.09001.mjs", "Stats.udp.9001.port.js"),
    ])
    func nearMissesNameTheEntryTheyMeant(file: String, intended: String) {
        #expect(HandlerFileName.intendedEntry(for: file) == intended)
    }

    @Test(arguments: [
        "util.js", "lib.v2.js", "jquery.3.7.1.js", "echo.tcp.7000.port.js.bak", "notes.txt", "udp.9001.js",
        "echo.http.8080.js", "echo.tcp.port.js.x", "tcp.7000.js", "README.md", "echo.tcp.70a.js",
    ])
    func ordinaryFilesAreNoNearMiss(file: String) {
        #expect(HandlerFileName.intendedEntry(for: file) == nil)
    }
}
