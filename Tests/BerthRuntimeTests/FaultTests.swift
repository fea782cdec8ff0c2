import Foundation
import Testing

import BerthJS
@testable import BerthRuntime

/// A fault stays with its handler: logged with the handler's name and the JS stack, the connection destroyed, and
/// everything else goes on.
@Suite(.timeLimit(.minutes(2)))
struct FaultTests {
    @Test func throwInHandleDestroysThatConnectionOnly() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              if (conn.remotePort === 1) failHere();
              conn.on('data', (chunk) => conn.write(chunk));
            }
            function failHere() {
              throw new TypeError('boom');
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        var first = peer
        first.remotePort = 1
        let outcome = runtime.acceptConnection(1, first)
        guard case .faulted(let message) = outcome else {
            Issue.record("expected a fault, got \(outcome)")
            return
        }
        #expect(host.errors == [message])
        #expect(message.hasPrefix("t: uncaught exception in handle() (connection 1): TypeError: boom\n"))
        #expect(message.contains("at failHere (./t.tcp.7000.port.js:6"))
        #expect(message.contains("at handle (./t.tcp.7000.port.js:2"))
        #expect(host.destroyed == [1])
        #expect(runtime.acceptConnection(2, peer) == .ok)
        #expect(runtime.deliver(2, "still here") == .ok)
        #expect(host.text(2) == "still here")
        #expect(!runtime.isFailed)
    }

    @Test func rejectionOfHandlesPromiseDestroysTheConnection() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export async function handle(conn) {
              await new Promise((resolve) => setTimeout(resolve, 10));
              throw new Error('async failure');
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(host.destroyed == [])
        host.advance(10, runtime)
        #expect(host.destroyed == [1])
        #expect(host.errors.count == 1)
        #expect(
            host.errors.first?.hasPrefix(
                "t: uncaught exception in handle() (connection 1): Error: async failure\n    at handle (./t.tcp.7000.port.js:3"
            ) == true)
    }

    @Test func throwingListenersFaultTheirConnection() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('data', (chunk) => {
                if (chunk.toString() === 'sync') throw new RangeError('sync listener');
                conn.write(chunk);
              });
              conn.on('end', async () => { throw new Error('async listener'); });
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.acceptConnection(2, peer) == .ok)
        let outcome = runtime.deliver(1, "sync")
        #expect(outcome != .ok)
        #expect(host.destroyed == [1])
        #expect(
            host.errors.first?.hasPrefix(
                "t: uncaught exception in a listener of 'data' (connection 1): RangeError: sync listener\n") == true)
        #expect(runtime.deliver(2, "fine") == .ok)
        #expect(host.text(2) == "fine")
        #expect(runtime.deliverEnd(2) == .ok)
        #expect(host.destroyed == [1, 2])
        #expect(
            host.errors.last?.hasPrefix(
                "t: uncaught exception in an async 'end' listener (connection 2): Error: async listener") == true)
    }

    @Test func throwInATimerIsLogged() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            setTimeout(function tick() { throw new Error('timer failure'); }, 5);
            setTimeout(() => console.log('next timer runs'), 6);
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.advance(10, runtime)
        #expect(host.errors.count == 1)
        #expect(
            host.errors.first?.hasPrefix(
                "t: uncaught exception in a timer callback: Error: timer failure\n    at tick (") == true)
        #expect(host.output == ["next timer runs"])
    }

    /// Work set up while a connection's event is handled is that connection's: a throw in its timer, interval or
    /// immediate, or a rejection nobody handles in a promise chain its timer continues, destroys it (and a throwing
    /// interval is cleared); the handler's other connections go on.
    @Test(arguments: [
        "setTimeout(function tick() { throw new Error('from a timeout'); }, 5);",
        "setInterval(function tick() { console.log('tick'); throw new Error('from an interval'); }, 5);",
        "setImmediate(function tick() { throw new Error('from an immediate'); });",
        "new Promise((resolve) => setTimeout(resolve, 5)).then(function tick() { throw new Error('from a chain'); });",
        "AbortSignal.timeout(5).addEventListener('abort', function tick() { throw new Error('from a listener'); });",
    ])
    func aFaultInWorkAConnectionSetUpDestroysThatConnection(work: String) throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('data', () => { \(work) });
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.acceptConnection(2, peer) == .ok)
        #expect(runtime.deliver(1, "go") == .ok)
        host.advance(50, runtime)
        #expect(host.destroyed == [1])
        #expect(host.errors.count == 1)
        #expect(host.errors.first?.contains("(connection 1)") == true, "\(host.errors)")
        #expect(host.errors.first?.contains("at tick (") == true, "\(host.errors)")
        #expect(host.timers.isEmpty)
        #expect(host.output.count { $0 == "tick" } <= 1)
    }

    /// Work set up outside any connection (in open, at the top level) has no connection to destroy: its faults are
    /// logged, and a throwing interval is cleared.
    @Test func aFaultInWorkOpenSetUpIsOnlyLogged() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            export function open() {
              setInterval(function tick() { throw new Error('interval in open'); }, 5);
              setImmediate(() => Promise.reject(new Error('rejection in open')));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        runtime.callOpen { _ in }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        host.advance(50, runtime)
        #expect(host.destroyed == [])
        #expect(host.errors.count == 2)
        #expect(host.errors.contains { $0.hasPrefix("t: uncaught exception in a timer callback: Error: interval in open") })
        #expect(host.errors.contains { $0.hasPrefix("t: unhandled promise rejection: Error: rejection in open") })
        #expect(host.timers.isEmpty)
    }

    /// A timer of a closed connection destroys nothing, not even a later connection with the same id.
    @Test func aTimerOfAClosedConnectionDestroysNoOtherConnection() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              if (conn.remotePort === 1) setTimeout(() => { throw new Error('late'); }, 5);
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        let first = ConnectionInfo(
            remoteAddress: "192.0.2.7", remotePort: 1, remoteFamily: .ipv4, localAddress: "192.0.2.1", localPort: 7000)
        #expect(runtime.acceptConnection(1, first) == .ok)
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(runtime.acceptConnection(1, peer) == .ok)
        host.advance(10, runtime)
        #expect(host.destroyed == [])
        #expect(host.errors.count == 1)
        #expect(host.errors.first?.hasPrefix("t: uncaught exception in a timer callback: Error: late") == true)
    }

    @Test func unhandledRejectionsAreLoggedWithTheirStack() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              Promise.reject(new Error('nobody listens'));
              const later = Promise.reject(new Error('handled later'));
              later.catch(() => {});
              queueMicrotask(() => { throw new Error('in a microtask'); });
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) != .ok)
        #expect(host.errors.count == 2)
        #expect(
            host.errors.contains {
                $0.hasPrefix("t: unhandled promise rejection (connection 1): Error: nobody listens\n    at handle (")
            })
        #expect(
            host.errors.contains {
                $0.hasPrefix(
                    "t: uncaught exception in a queueMicrotask callback (connection 1): Error: in a microtask\n")
            })
        // Both happened in the work of connection 1's event: that connection is destroyed.
        #expect(host.destroyed == [1])
    }

    @Test func endlessLoopInHandleIsInterruptedWithinTheBudget() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              if (conn.remotePort === 1) spin();
              conn.write('alive');
            }
            function spin() { while (true) {} }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        var first = peer
        first.remotePort = 1
        let started = ContinuousClock.now
        let outcome = runtime.acceptConnection(1, first)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(200) && elapsed < .milliseconds(1500), "took \(elapsed)")
        guard case .faulted(let message) = outcome else {
            Issue.record("expected a fault, got \(outcome)")
            return
        }
        #expect(
            message.hasPrefix(
                "t: handle() (connection 1) exceeded the CPU budget of 200 ms and was stopped\n    at spin ("))
        #expect(host.destroyed == [1])
        #expect(runtime.acceptConnection(2, peer) == .ok)
        #expect(host.text(2) == "alive")
    }

    @Test func endlessLoopInATimerIsInterrupted() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            setTimeout(() => { for (;;) {} }, 1);
            setTimeout(() => console.log('later timer'), 2);
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.advance(1, runtime)
        #expect(host.errors.count == 1)
        #expect(
            host.errors.first?.hasPrefix("t: a timer callback exceeded the CPU budget of 200 ms and was stopped")
                == true)
        host.advance(1, runtime)
        #expect(host.output == ["later timer"])
    }

    /// An interrupt that user code swallows (an async function's catch) still counts as exceeding the budget.
    @Test func swallowedInterruptIsStillAFault() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              (async () => { await null; try { while (true) {} } catch { console.log('caught it'); } })();
            }
            """)
        defer { runtime.unload() }
        let outcome = runtime.acceptConnection(1, peer)
        #expect(outcome == .faulted("t: handle() (connection 1) exceeded the CPU budget of 200 ms and was stopped"))
        #expect(fixture.host.destroyed == [1])
    }

    /// Exhausting the heap fails that runtime alone: it logs, closes its connection and turns every later dispatch
    /// into a no-op; another runtime on the same host goes on.
    @Test func heapExhaustionFailsOnlyThatRuntime() throws {
        let fixture = try HandlerFixture([
            "hog.tcp.7000.port.js": """
            export function handle(conn) {
              const a = [];
              for (;;) a.push(new Array(1e6).fill(1));
            }
            setInterval(() => {}, 1000);
            """,
            "ok.tcp.7001.port.js": "export function handle(conn) { conn.on('data', (chunk) => conn.write(chunk)); }",
        ])
        let hog = try fixture.runtime("hog.tcp.7000.port.js", heapLimit: 16 << 20, budget: 5000)
        let healthy = try fixture.runtime("ok.tcp.7001.port.js", heapLimit: 16 << 20)
        defer {
            hog.unload()
            healthy.unload()
        }
        let host = fixture.host
        let outcome = hog.acceptConnection(1, peer)
        #expect(hog.isFailed)
        #expect(
            outcome
                == .faulted(
                    "hog: out of memory in handle() (heap limit 16 MiB); the handler is stopped and its connections are closed"
                ))
        #expect(host.destroyed == [1])
        #expect(host.timers.isEmpty)
        #expect(hog.deliver(1, "ignored") != .ok)
        #expect(hog.acceptConnection(2, peer) != .ok)
        #expect(healthy.acceptConnection(3, peer) == .ok)
        #expect(healthy.deliver(3, "fine") == .ok)
        #expect(host.text(3) == "fine")
    }

    /// Unbounded recursion hits QuickJS's stack limit (an exception), never the thread's guard page.
    @Test func deepRecursionIsAnOrdinaryFault() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) { recurse(0); }
            function recurse(depth) { return recurse(depth + 1) + 1; }
            """)
        defer { runtime.unload() }
        let outcome = runtime.acceptConnection(1, peer)
        guard case .faulted(let message) = outcome else {
            Issue.record("expected a fault, got \(outcome)")
            return
        }
        #expect(message.hasPrefix("t: uncaught exception in handle() (connection 1): InternalError: stack overflow"))
        #expect(fixture.host.destroyed == [1])
        #expect(runtime.acceptConnection(2, peer) != .ok)
    }

    @Test func eventsForClosedConnectionsAreIgnored() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            "export function handle(conn) { conn.on('data', () => console.log('data')); }")
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(runtime.deliver(1, "late") == .ok)
        #expect(runtime.deliverEnd(1) == .ok)
        #expect(runtime.deliverWritten(1, byteCount: 3) == .ok)
        #expect(runtime.deliverError(1, code: "EPIPE", message: "write EPIPE") == .ok)
        #expect(runtime.deliver(99, "never accepted") == .ok)
        #expect(fixture.host.logs.isEmpty)
    }
}
