import BerthPlan
import Testing

import BerthJS
@testable import BerthRuntime

/// Loading, the contract's lifecycle (open, close, unload), ctx, UDP, and console levels.
@Suite(.timeLimit(.minutes(2)))
struct HandlerRuntimeTests {
    /// Collects completion outcomes.
    final class Outcomes {
        var values: [DispatchOutcome] = []
        func record(_ outcome: DispatchOutcome) { values.append(outcome) }
    }

    @Test func openIsAwaited() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            let ready = false;
            export function handle(conn) { conn.write(ready ? 'ready' : 'not ready'); }
            export async function open(ctx) {
              await new Promise((resolve) => setTimeout(resolve, 50));
              ready = true;
              console.log('opened', ctx.name, ctx.port, ctx.protocol);
            }
            """)
        defer { runtime.unload() }
        let outcomes = Outcomes()
        runtime.callOpen(outcomes.record)
        #expect(outcomes.values == [])
        fixture.host.advance(49, runtime)
        #expect(outcomes.values == [])
        fixture.host.advance(1, runtime)
        #expect(outcomes.values == [.ok])
        #expect(fixture.host.output == ["opened t 7000 tcp"])
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(fixture.host.text(1) == "ready")
    }

    @Test(arguments: [
        (
            "export function open() { throw new Error('no config'); }",
            "t: uncaught exception in open(): Error: no config"
        ),
        ("export async function open() { await null; throw new Error('late'); }", "t: open() rejected: Error: late"),
    ])
    func openThatFailsFailsTheStart(source: String, expected: String) throws {
        let (fixture, runtime) = try HandlerFixture.tcp("export function handle() {}\n" + source)
        defer { runtime.unload() }
        let outcomes = Outcomes()
        runtime.callOpen(outcomes.record)
        #expect(outcomes.values.count == 1)
        guard case .faulted(let message) = outcomes.values.first else {
            Issue.record("expected a fault, got \(outcomes.values)")
            return
        }
        #expect(message.hasPrefix(expected + "\n    at open ("))
        #expect(fixture.host.errors == [message])
    }

    /// The broker unloads a handler whose open() failed from inside the completion, and may unload from the close
    /// completion: nothing of the runtime may still be in use then (QuickJS would abort on a leaked value).
    @Test(arguments: [
        "export function open() { throw new Error('sync'); }",
        "export async function open() { await new Promise((resolve) => setTimeout(resolve, 5)); throw new Error('late'); }",
        "export async function open() { await new Promise((resolve) => setTimeout(resolve, 5)); }",
    ])
    func completionsMayUnloadTheRuntime(source: String) throws {
        let (fixture, runtime) = try HandlerFixture.tcp("export function handle() {}\n" + source)
        let outcomes = Outcomes()
        runtime.callOpen { outcome in
            outcomes.record(outcome)
            runtime.unload()
        }
        fixture.host.advance(5, runtime)
        #expect(outcomes.values.count == 1)
        #expect(runtime.isUnloaded)
    }

    @Test func closeCompletionMayUnloadTheRuntime() throws {
        let (fixture, runtime) = try HandlerFixture.tcp("""
            export function handle() {}
            export async function close() { await new Promise((resolve) => setTimeout(resolve, 5)); }
            """)
        let outcomes = Outcomes()
        runtime.callClose { outcome in
            outcomes.record(outcome)
            runtime.unload()
        }
        fixture.host.advance(5, runtime)
        #expect(outcomes.values == [.ok])
        #expect(runtime.isUnloaded)
    }

    @Test func withoutOpenTheStartIsImmediate() throws {
        let (_, runtime) = try HandlerFixture.tcp("export function handle() {}")
        defer { runtime.unload() }
        let outcomes = Outcomes()
        runtime.callOpen(outcomes.record)
        #expect(outcomes.values == [.ok])
    }

    /// At unload ctx.signal aborts first (its listeners see the reason), then close(ctx) runs, then timers stop.
    @Test func closeRunsAfterTheSignalAbortsAndTimersStop() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            export function open(ctx) {
              ctx.signal.addEventListener('abort', () => console.log('abort', ctx.signal.reason.name, ctx.signal.reason.message));
              setTimeout(() => console.log('never'), 1000);
              setInterval(() => console.log('never either'), 1000);
            }
            export function close(ctx) { console.log('close', ctx.signal.aborted); }
            """)
        let host = fixture.host
        let outcomes = Outcomes()
        runtime.callOpen(outcomes.record)
        #expect(host.timers.count == 2)
        let scheduled = Set(host.timers.keys)
        runtime.unload()
        #expect(runtime.isUnloaded)
        #expect(host.output == ["abort AbortError The handler t is being unloaded", "close true"])
        #expect(host.timers.isEmpty)
        #expect(Set(host.cancelled) == scheduled)
        #expect(runtime.acceptConnection(1, peer) != .ok)
        #expect(runtime.fireTimer(id: 1) == .ok)
    }

    @Test func asyncCloseCompletesWhenItsPromiseSettles() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            export async function close(ctx) {
              await new Promise((resolve) => setTimeout(resolve, 20));
              console.log('closed');
            }
            """)
        defer { runtime.unload() }
        let outcomes = Outcomes()
        runtime.callClose(outcomes.record)
        #expect(outcomes.values == [])
        fixture.host.advance(20, runtime)
        #expect(outcomes.values == [.ok])
        #expect(fixture.host.output == ["closed"])
    }

    @Test func ctxIsFrozenWithTheContractsFields() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn, ctx) {
              console.log(JSON.stringify(Object.keys(ctx)), Object.isFrozen(ctx), ctx.signal instanceof AbortSignal,
                'shared' in ctx, typeof ctx.reply, globalThis.previous === undefined || globalThis.previous === ctx);
              globalThis.previous = ctx;
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.acceptConnection(2, peer) == .ok)
        let line = #"["name","port","protocol","signal"] true true false undefined true"#
        #expect(fixture.host.output == [line, line])
    }

    @Test func udpMessagesAndReplies() throws {
        let fixture = try HandlerFixture([
            "ping.udp.9000.port.js": """
            let count = 0;
            export function message(msg, rinfo, ctx) {
              count += 1;
              if (msg.toString() === 'fail') throw new Error('bad datagram');
              if (msg.toString() === 'async') return Promise.reject(new Error('async datagram'));
              console.log(Buffer.isBuffer(msg), JSON.stringify(rinfo), ctx.protocol, Object.keys(ctx).join());
              ctx.reply(Buffer.from(`pong #${count}\\n`), rinfo);
              ctx.reply('text', { address: rinfo.address, port: rinfo.port });
            }
            """
        ])
        let runtime = try fixture.runtime("ping.udp.9000.port.js", transport: .udp)
        defer { runtime.unload() }
        let host = fixture.host
        let bytes = Array("ping".utf8)
        let outcome = bytes.withUnsafeBytes {
            unsafe runtime.deliverDatagram($0, address: "2001:db8::1", family: .ipv6, port: 5353)
        }
        #expect(outcome == .ok)
        #expect(
            host.output == [
                #"true {"address":"2001:db8::1","family":"IPv6","port":5353,"size":4} udp name,port,protocol,signal,reply"#
            ])
        #expect(
            host.datagrams == [
                .init(bytes: Array("pong #1\n".utf8), address: "2001:db8::1", port: 5353),
                .init(bytes: Array("text".utf8), address: "2001:db8::1", port: 5353),
            ])
        for text in ["fail", "async"] {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes {
                unsafe runtime.deliverDatagram($0, address: "192.0.2.9", family: .ipv4, port: 1)
            }
        }
        #expect(host.errors.count == 2)
        #expect(host.errors[0].hasPrefix("ping: uncaught exception in message(): Error: bad datagram\n"))
        #expect(host.errors[1].hasPrefix("ping: uncaught exception in message(): Error: async datagram\n"))
    }

    @Test func importsOfBuiltinsAndRelativeFilesWorkAtRuntime() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            import { Buffer as B } from 'node:buffer';
            import buffer from 'buffer';
            import EventEmitter, { once } from 'node:events';
            import { EventEmitter as E2 } from 'events';
            import { greet, Counter } from './lib/util.js';
            export function handle(conn) {
              const counter = new Counter();
              counter.on('count', (n) => conn.write(greet(n)));
              counter.bump();
              console.log(B === Buffer, buffer === Buffer, E2 === EventEmitter, typeof once, counter instanceof EventEmitter);
            }
            """,
            files: [
                "lib/util.js": """
                import { EventEmitter } from 'node:events';
                import { suffix } from '../shared/suffix.js';
                export function greet(n) { return `hello ${n}${suffix}`; }
                export class Counter extends EventEmitter { n = 0; bump() { this.emit('count', ++this.n); } }
                """,
                "shared/suffix.js": "export const suffix = '!';",
            ])
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(fixture.host.text(1) == "hello 1!")
        #expect(fixture.host.output == ["true true true function true"])
    }

    @Test func consoleLevels() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            console.log('log'); console.info('info'); console.warn('warn %d', 1); console.error('error', { a: 1 });
            console.debug('debug'); console.assert(false, 'asserted %s', 'value'); console.assert(true, 'not shown');
            console.trace('traced');
            """)
        defer { runtime.unload() }
        let logs = fixture.host.logs
        #expect(
            logs.prefix(6).map { "\($0.level):\($0.message)" } == [
                "info:log", "info:info", "warn:warn 1", "error:error { a: 1 }", "debug:debug",
                "error:Assertion failed: asserted value",
            ])
        #expect(logs.last?.level == .debug)
        #expect(logs.last?.message.hasPrefix("Trace: traced\n    at ") == true)
    }

    @Test(arguments: [
        (
            "export function handle() {}\nthrow new Error('at load');",
            "t: evaluating t.tcp.7000.port.js threw: Error: at load\n    at <anonymous> (./t.tcp.7000.port.js:2"
        ),
        ("export const handle = 5;", "t: the module must export a function named handle; it exports a number"),
        ("export function message() {}", "t: the module must export a function named handle; it exports none"),
        (
            "import x from '../outside.js';\nexport function handle() {}",
            "t: t.tcp.7000.port.js:1:15: '../outside.js' (imported by t.tcp.7000.port.js) leads outside the handler folder"
        ),
        ("export function handle( {}", "t: t.tcp.7000.port.js:1:27: SyntaxError: expecting ','"),
        (
            "export function handle() {}\nawait new Promise(() => {});",
            "t: t.tcp.7000.port.js awaits at its top level something that did not settle"
        ),
        (
            "export function handle() {}\nwhile (true) {}",
            "t: evaluating t.tcp.7000.port.js exceeded the CPU budget of 200 ms"
        ),
        // The heap limit is 16 MiB: files over 256 KiB are not compiled, compiled modules over 8 MiB not run.
        (
            "export function handle() {}\n" + String(repeating: "x(1);", count: 60_000),
            "t: t.tcp.7000.port.js: t.tcp.7000.port.js has 293 KiB of source; with a heap limit of 16 MiB a module "
                + "file may have at most 256 KiB"
        ),
        (
            "export function handle() {}\n" + String(repeating: "x=>x;", count: 50_000),
            "t: t.tcp.7000.port.js: t.tcp.7000.port.js and its imports hold"
        ),
    ])
    func modulesThatCannotStartAreRefused(source: String, expected: String) throws {
        let fixture = try HandlerFixture(["t.tcp.7000.port.js": source])
        #expect {
            _ = try fixture.runtime("t.tcp.7000.port.js")
        } throws: { error in
            guard let error = error as? HandlerLoadError else { return false }
            let matches = error.message.hasPrefix(expected)
            if !matches { Issue.record("message: \(error.message)") }
            return matches
        }
    }

    /// A module may await at its top level what settles while it loads.
    @Test func topLevelAwaitThatSettles() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            const value = await Promise.resolve(42);
            export function handle(conn) { conn.write(String(value)); }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(fixture.host.text(1) == "42")
    }

    /// A module that throws while it loads is reported once, by the load failure, not also as unhandled rejections
    /// of the promises its evaluation passed through (a `require` call was logged three times).
    @Test func aThrowAtLoadIsReportedOnce() throws {
        let fixture = try HandlerFixture(["t.tcp.7000.port.js": "const fs = require('fs');\nexport function handle() {}"])
        #expect(throws: HandlerLoadError.self) { _ = try fixture.runtime("t.tcp.7000.port.js") }
        #expect(fixture.host.errors == [])
    }

    /// A dynamic import that fails at run time names the importing file, the line and the reason, whether the file is
    /// missing, outside the folder, does not compile, or itself imports a missing file; retrying gives the same error.
    @Test func failedDynamicImportsNameFileAndLine() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export async function handle(conn) {
              for (const path of ['./missing.js', './missing.js', '../outside.js', './bad.js', './uses-missing.js']) {
                try { await import(path); } catch (e) { conn.write(`${e.name}: ${e.message}\\n`); }
              }
              const { x } = await import('./good.js');
              conn.write(`good ${x}\\n`);
            }
            """,
            files: [
                "bad.js": "export const = 1;",
                "uses-missing.js": "import './nowhere.js';\nexport const y = 1;",
                "good.js": "export const x = 42;",
            ])
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        let lines = fixture.host.text(1).split(separator: "\n").map(String.init)
        #expect(lines.count == 6, "\(lines)")
        guard lines.count == 6 else { return }
        #expect(lines[0].hasPrefix("TypeError: t.tcp.7000.port.js:") && lines[0].hasSuffix(
            "cannot find './missing.js' imported by t.tcp.7000.port.js: there is no file missing.js"))
        #expect(lines[1] == lines[0])
        #expect(lines[2].contains("'../outside.js' (imported by t.tcp.7000.port.js) leads outside the handler folder"))
        #expect(lines[3].hasPrefix("TypeError: bad.js:1:") && lines[3].contains("SyntaxError"))
        #expect(lines[4] == "TypeError: uses-missing.js:1:8: cannot find './nowhere.js' imported by uses-missing.js: there is no file nowhere.js")
        #expect(lines[5] == "good 42")
    }
}
