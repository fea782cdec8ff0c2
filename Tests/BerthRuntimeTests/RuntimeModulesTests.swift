import Testing

import BerthJS
@testable import BerthRuntime

/// berth's own modules (Sources/BerthRuntime/js): their frames name the file and line, and no handler reaches them.
@Suite(.timeLimit(.minutes(2)))
struct RuntimeModulesTests {
    @Test func aFaultInsideBufferNamesBufferJSAndALine() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              Buffer.from(Symbol());
            }
            """)
        defer { runtime.unload() }
        guard case .faulted(let message) = runtime.acceptConnection(1, peer) else {
            Issue.record("expected a fault")
            return
        }
        #expect(fixture.host.errors == [message])
        #expect(message.hasPrefix("t: uncaught exception in handle() (connection 1): TypeError: "))
        let frames = message.split(separator: "\n").dropFirst()
        #expect(frames.contains { $0.contains(#/\(berth:buffer\.js:\d+:\d+\)/#) })
        #expect(frames.contains { $0.contains("at handle (./t.tcp.7000.port.js:2") })
    }

    @Test(arguments: ["berth:host", "berth:buffer.js", "berth:hooks.js", "berth:unresolved"])
    func aHandlerCannotImportTheRuntimesModules(specifier: String) throws {
        let fixture = try HandlerFixture([
            "t.tcp.7000.port.js": "import * as internal from '\(specifier)';\nexport function handle(conn) {}\n"
        ])
        #expect {
            try fixture.runtime("t.tcp.7000.port.js")
        } throws: { error in
            let message = (error as? HandlerLoadError)?.message ?? ""
            return message.contains("cannot import '\(specifier)' (imported by t.tcp.7000.port.js)")
                && message.contains("berth's own modules are internal to its handler runtime")
        }
    }

    @Test func aDynamicImportOfARuntimeModuleRejects() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export async function handle(conn) {
              for (const name of ['berth:host', 'berth:core.js']) {
                try { await import(name); conn.write('imported\\n'); } catch (e) { conn.write(`${e.name}: ${e.message}\\n`); }
              }
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        let lines = fixture.host.text(1).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.hasPrefix("TypeError: ") && $0.contains("berth's own modules are internal") })
    }
}
