import Testing

import BerthJS
@testable import BerthRuntime

/// EventEmitter, checked against Node 20 (node:events); the global is berth's own.
@Suite(.timeLimit(.minutes(2)))
struct EventEmitterTests {
    /// An 'error' event without listeners throws what Node throws, `emit('error')` without an argument included.
    @Test func unhandledErrorEventsThrowAsInNode() throws {
        try NodeComparison.expectSame(
            #"""
            import { EventEmitter } from 'node:events';
            const emitter = new EventEmitter();
            const cases = [[], [undefined], ['a string'], [{ message: 'Error!' }], [42], [null],
              [{ message: 'Error!', [Symbol.for('nodejs.util.inspect.custom')]() { throw new Error(); } }]];
            for (const args of cases) {
              try { emitter.emit('error', ...args); } catch (error) {
                console.log(error.code, error.name, error.message, error.context === args[0], error instanceof Error);
              }
            }
            const thrown = new TypeError('boom');
            try { emitter.emit('error', thrown); } catch (error) { console.log(error === thrown, error.code); }
            const monitored = new EventEmitter();
            monitored.on(EventEmitter.errorMonitor, (...args) => console.log('monitor', args.length, args[0]));
            try { monitored.emit('error'); } catch (error) { console.log(error.message); }
            """#)
    }

    /// Listener limits are checked with Node's words: a number (else ERR_INVALID_ARG_TYPE), then `>= 0`.
    @Test func listenerLimitsCheckedAsInNode() throws {
        try NodeComparison.expectSame(
            #"""
            import { EventEmitter } from 'node:events';
            checkMessage(() => new EventEmitter().setMaxListeners(-1));
            checkMessage(() => new EventEmitter().setMaxListeners('1'));
            checkMessage(() => new EventEmitter().setMaxListeners(NaN));
            checkMessage(() => new EventEmitter().setMaxListeners(Infinity).getMaxListeners());
            checkMessage(() => new EventEmitter().setMaxListeners(0).getMaxListeners());
            checkMessage(() => { EventEmitter.defaultMaxListeners = -1; });
            checkMessage(() => { EventEmitter.defaultMaxListeners = 'x'; });
            checkMessage(() => { EventEmitter.defaultMaxListeners = 11; return new EventEmitter().getMaxListeners(); });
            """#)
    }

    /// `EventEmitter` is a global of the handler runtime (Node has it only in node:events), the same class.
    @Test func eventEmitterIsAGlobal() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            import events, { EventEmitter as Imported } from 'node:events';
            const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'EventEmitter');
            console.log(typeof EventEmitter, EventEmitter === Imported, EventEmitter === events,
              descriptor.enumerable, descriptor.writable);
            const emitter = new EventEmitter();
            emitter.on('ping', (value) => console.log('pong', value));
            emitter.emit('ping', 1);
            export function handle() {}
            """)
        runtime.unload()
        #expect(fixture.host.errors == [])
        #expect(fixture.host.output == ["function true true false true", "pong 1"])
    }
}
