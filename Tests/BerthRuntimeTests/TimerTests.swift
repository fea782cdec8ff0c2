import Testing

import BerthJS
@testable import BerthRuntime

/// setTimeout, setInterval, setImmediate and their clears, over the fake host's clock.
@Suite(.timeLimit(.minutes(2)))
struct TimerTests {
    @Test func orderArgumentsAndClears() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            const log = (text) => console.log(text);
            setTimeout(log, 20, 'timeout 20');
            setTimeout(log, 10, 'timeout 10');
            setImmediate(log, 'immediate');
            setTimeout(log, 0, 'timeout 0');
            const cleared = setTimeout(log, 5, 'cleared');
            clearTimeout(cleared);
            const byId = setTimeout(log, 5, 'cleared by id');
            clearTimeout(+byId);
            const immediate = setImmediate(log, 'cleared immediate');
            clearImmediate(immediate);
            let ticks = 0;
            const interval = setInterval(function () {
              ticks += 1;
              log(`interval ${ticks} ${this === interval}`);
              if (ticks === 3) clearInterval(interval);
            }, 7);
            const timer = setTimeout(() => {}, 100);
            log(`${typeof timer.ref} ${timer.hasRef()} ${timer.unref().hasRef()} ${timer.ref().hasRef()} ${typeof +timer}`);
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.advance(30, runtime)
        #expect(
            host.output == [
                "function true false true number", "immediate", "timeout 0", "interval 1 true", "timeout 10",
                "interval 2 true", "timeout 20", "interval 3 true",
            ])
        host.advance(100, runtime)
        #expect(host.output.count == 8)
        #expect(host.timers.isEmpty)
    }

    @Test func refreshRestartsAPendingTimer() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            const timer = setTimeout(() => console.log('fired'), 10);
            setTimeout(() => timer.refresh(), 8);
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.advance(17, runtime)
        #expect(host.output == [])
        host.advance(1, runtime)
        #expect(host.output == ["fired"])
    }

    @Test func invalidCallbacksThrowLikeNode() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            for (const set of [setTimeout, setInterval, setImmediate, queueMicrotask]) {
              try { set('not a function'); } catch (error) { console.log(error.code); }
            }
            """)
        defer { runtime.unload() }
        #expect(fixture.host.output == Array(repeating: "ERR_INVALID_ARG_TYPE", count: 4))
    }

    /// A timer holds its callback (and what the callback holds) only while pending.
    @Test func firedAndClearedTimersReleaseTheirCallbacks() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {
              console.log(refs.map((ref) => ref.deref() === undefined).join());
            }
            globalThis.refs = [];
            function track() {
              const payload = { big: new Array(1000).fill(0) };
              refs.push(new WeakRef(payload));
              return () => payload.big.length;
            }
            setTimeout(track(), 1);
            clearTimeout(setTimeout(track(), 1));
            setTimeout(track(), 1000);
            """)
        defer { runtime.unload() }
        fixture.host.advance(5, runtime)
        runtime.context?.runtime.collectGarbage()
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(fixture.host.output == ["true,true,false"])
    }

    /// An immediate set while immediates run waits for the next loop iteration, as in Node, so a chain of them runs
    /// one link per turn and the host's loop goes on.
    @Test func anImmediateSetByAnImmediateWaitsForTheNextTurn() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            let links = 0;
            const f = () => { links += 1; console.log(`link ${links}`); setImmediate(f); };
            f();
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(host.immediatesRequested)
        for turn in 1...5 {
            host.turn(runtime)
            #expect(host.output.count == turn + 1)
            #expect(host.immediatesRequested)
            #expect(runtime.pendingImmediates.count == 1)
        }
        #expect(runtime.immediateQueue.count - runtime.immediateHead == 1)
        #expect(host.errors == [])
    }

    /// One run of the immediates is bounded: a flood set in one dispatch is spread over turns, in order.
    @Test func aFloodOfImmediatesIsSpreadOverTurnsInOrder() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            globalThis.ran = [];
            for (let i = 0; i < 3000; i++) setImmediate(() => ran.push(i));
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.turn(runtime)
        #expect(runtime.pendingImmediates.count == 3000 - HandlerRuntime.immediatesPerRun)
        #expect(host.immediatesRequested)
        host.advance(0, runtime)
        #expect(runtime.pendingImmediates.isEmpty)
        #expect(!host.immediatesRequested)
        #expect(runtime.immediateQueue.isEmpty)
    }

    /// Node's order: the microtasks an immediate queues run before the next immediate; immediates set from a timer
    /// run before a 0 ms timeout set with them; an immediate set by an immediate runs after the others queued then;
    /// clearImmediate works. (Only orders that do not depend on how fast the machine is.)
    @Test func immediatesTimeoutsAndMicrotasksInNodesOrder() throws {
        try NodeComparison.expectSame(
            """
            setTimeout(() => {
              setTimeout(() => console.log('timeout 0 from a timer'), 0);
              setImmediate(() => {
                console.log('immediate 1');
                Promise.resolve().then(() => console.log('microtask of immediate 1'));
                queueMicrotask(() => console.log('queueMicrotask of immediate 1'));
              });
              const cleared = setImmediate(() => console.log('cleared'));
              setImmediate(() => { console.log('immediate 2'); clearImmediate(cleared); });
              setImmediate(() => console.log('immediate 3'));
            }, 0);
            setTimeout(() => {
              setImmediate(() => {
                console.log('A');
                setImmediate(() => { console.log('nested in A'); setImmediate(() => console.log('nested twice')); });
              });
              setImmediate(() => { console.log('B'); setImmediate(() => console.log('nested in B')); });
            }, 50);
            """)
    }

    /// AbortSignal.timeout(0) and other internal timers wait at least 1 ms, as Node's do: a signal chain set from its
    /// own abort listeners runs once per millisecond, not forever within one pass of the timers.
    @Test func abortSignalTimeoutZeroWaitsAMillisecond() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            globalThis.aborts = 0;
            const f = () => { aborts += 1; AbortSignal.timeout(0).addEventListener('abort', f); };
            f();
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(host.timers.values.map(\.due) == [host.now + 1])
        host.advance(0, runtime)
        #expect(host.timers.count == 1)
        host.advance(10, runtime)
        #expect(host.timers.count == 1)
        #expect(host.errors == [])
        let counted = runtime.fireTimer(id: host.timers.keys.first!)
        #expect(counted == .ok)
    }

    /// A chain of microtasks inside one dispatch is stopped by the CPU budget like any endless loop.
    @Test(arguments: [
        "const f = () => { Promise.resolve().then(f); }; f();",
        "const f = () => queueMicrotask(f); f();",
        "(async () => { for (;;) await null; })();",
    ])
    func aMicrotaskChainIsStoppedByTheCPUBudget(chain: String) throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) { if (conn.remotePort === 1) { \(chain) } }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        let outcome = runtime.acceptConnection(1, ConnectionInfo(
            remoteAddress: "192.0.2.7", remotePort: 1, remoteFamily: .ipv4, localAddress: "192.0.2.1", localPort: 7000))
        #expect(outcome == .faulted("t: handle() (connection 1) exceeded the CPU budget of 200 ms and was stopped"))
        #expect(host.destroyed == [1])
        #expect(runtime.acceptConnection(2, peer) == .ok)
        #expect(host.destroyed == [1])
    }

    /// QuickJS checks for the interrupt once every so many calls, so where in a chain's cycle it lands depends on all
    /// that ran before: a chain interrupted just after it queued its next job must be stopped too, wherever that is.
    @Test(arguments: [
        "const f = () => { Promise.resolve().then(f); }; f();",
        "const f = () => queueMicrotask(f); f();",
        "(async () => { for (;;) await null; })();",
    ])
    func aMicrotaskChainIsStoppedWhereverTheInterruptLands(chain: String) throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            function pass() {}
            export function handle(conn) {
              for (let call = 0; call < conn.remotePort; call++) pass();
              \(chain)
            }
            """)
        defer { runtime.unload() }
        for offset in 0..<16 {
            var info = peer
            info.remotePort = offset
            let outcome = runtime.acceptConnection(ConnectionID(offset + 1), info)
            #expect(
                outcome == .faulted(
                    "t: handle() (connection \(offset + 1)) exceeded the CPU budget of 200 ms and was stopped"),
                "offset \(offset)")
        }
        #expect(fixture.host.destroyed == (1...16).map { ConnectionID($0) })
    }

    @Test func abortSignalTimeout() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle() {}
            const signal = AbortSignal.timeout(50);
            signal.addEventListener('abort', () => console.log('aborted', signal.reason.name, signal.reason.message));
            """)
        defer { runtime.unload() }
        fixture.host.advance(49, runtime)
        #expect(fixture.host.output == [])
        fixture.host.advance(1, runtime)
        #expect(fixture.host.output == ["aborted TimeoutError The operation was aborted due to timeout"])
    }
}
