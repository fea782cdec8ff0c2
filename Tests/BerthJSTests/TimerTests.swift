import Testing

@testable import BerthJS

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
