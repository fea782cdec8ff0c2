import BerthPlan
import BerthStore
import Testing

import BerthClone
import BerthJS
@testable import BerthRuntime

/// Handlers sharing one store, each driven by JavaScript the test sends as data on a connection (evaluated in the
/// handler's global scope, where `ctx` and `log` are). Deliveries run only when the test calls `deliver()`, as the
/// broker runs them on a later turn of its loop.
final class SharedHarness {
    let fixture: HandlerFixture
    let store: InProcessSharedStore
    private let schedule: Counter
    private var runtimes: [String: HandlerRuntime] = [:]

    final class Counter { var value = 0 }

    static let handler = """
        export function open(ctx) {
          globalThis.ctx = ctx;
          globalThis.log = (...parts) => console.log(`${ctx.name}:`, ...parts);
        }
        export function handle(conn) {
          conn.on('data', (data) => { (0, eval)(data.toString()); });
        }
        """

    /// Handlers named `names`, each loaded and opened, on one store of `maxBytes`.
    init(_ names: [String], maxBytes: Int = 64 << 20, heapLimit: Int = 16 << 20) throws {
        let counter = Counter()
        schedule = counter
        store = InProcessSharedStore(maxBytes: maxBytes) { counter.value += 1 }
        var files: [String: String] = [:]
        for (index, name) in names.enumerated() { files["\(name).tcp.\(7000 + index).port.js"] = Self.handler }
        fixture = try HandlerFixture(files)
        for (index, name) in names.enumerated() {
            let runtime = try fixture.runtime(
                "\(name).tcp.\(7000 + index).port.js", heapLimit: heapLimit, budget: 5000, store: store,
                storeOwner: SharedStoreOwnerID(index + 1))
            runtime.callOpen { _ in }
            runtimes[name] = runtime
        }
    }

    deinit { for runtime in runtimes.values { runtime.unload() } }

    func runtime(_ name: String) -> HandlerRuntime { runtimes[name]! }

    /// How many times the store asked for a delivery turn.
    var scheduled: Int { schedule.value }

    /// Runs `code` in handler `name` while it handles data on `connection` (accepted on first use).
    @discardableResult
    func run(_ name: String, _ code: String, connection: ConnectionID = 1) -> DispatchOutcome {
        let runtime = runtimes[name]!
        if accepted.insert("\(name) \(connection)").inserted { _ = runtime.acceptConnection(connection, peer) }
        return runtime.deliver(connection, code)
    }
    private var accepted: Set<String> = []

    /// Runs the queued deliveries, as the broker's loop does.
    func deliver() { store.deliverPending() }

    var output: [String] { fixture.host.output }
    var errors: [String] { fixture.host.errors }
}

/// `ctx.shared`: key/value and publish/subscribe between handler runtimes over one SharedStore.
@Suite(.timeLimit(.minutes(2)))
struct SharedStoreBindingTests {
    @Test func keyValueAcrossHandlers() throws {
        let shared = try SharedHarness(["a", "b"])
        shared.run("a", "(async () => { log(await ctx.shared.get('k')); await ctx.shared.set('k', { n: [1] }); })()")
        shared.run("b", "(async () => { const v = await ctx.shared.get('k'); log(JSON.stringify(v)); })()")
        shared.run(
            "b",
            """
            (async () => {
              await ctx.shared.delete('k');
              await ctx.shared.delete('k');
              log(await ctx.shared.get('k'));
            })()
            """
        )
        shared.run("a", "log(ctx.shared.get('x') instanceof Promise, ctx.shared.set('x', 1) instanceof Promise)")
        #expect(shared.errors == [])
        #expect(shared.output == ["a: undefined", "b: {\"n\":[1]}", "b: undefined", "a: true true"])
        #expect(shared.store.keyCount == 1)
    }

    @Test func sharedIsAFrozenHostObjectOnlyWithAStore() throws {
        let shared = try SharedHarness(["a"])
        shared.run("a", "log(Object.isFrozen(ctx.shared), Object.keys(ctx.shared).join(), ctx.shared === ctx.shared)")
        let (fixture, plain) = try HandlerFixture.tcp(
            """
            export function open(ctx) { console.log('shared' in ctx, Object.isFrozen(ctx)); }
            export function handle() {}
            """
        )
        plain.callOpen { _ in }
        plain.unload()
        #expect(shared.output == ["a: true get,set,delete,subscribe,publish true"])
        #expect(fixture.host.output == ["false true"])
    }

    @Test func keysAndChannelsMustBeStrings() throws {
        let shared = try SharedHarness(["a"])
        shared.run(
            "a",
            """
            (async () => {
              const outcome = (promise) => promise.then(() => 'resolved', (error) => `${error.name} ${error.code}`);
              log(await outcome(ctx.shared.get(1)), await outcome(ctx.shared.set(null, 1)),
                await outcome(ctx.shared.delete({})), await outcome(ctx.shared.get(new String('k'))));
              const thrown = (fn) => {
                try { fn(); return 'returned'; } catch (error) { return `${error.name} ${error.code}`; }
              };
              log(thrown(() => ctx.shared.subscribe(5, () => {})), thrown(() => ctx.shared.subscribe('c', 'fn')),
                thrown(() => ctx.shared.publish(undefined, 1)), thrown(() => ctx.shared.publish(Symbol(), 1)));
              const error = await ctx.shared.get(42).catch((error) => error);
              log(error.message);
            })()
            """)
        let typeError = "TypeError ERR_INVALID_ARG_TYPE"
        #expect(shared.errors == [])
        #expect(
            shared.output == [
                "a: " + Array(repeating: typeError, count: 4).joined(separator: " "),
                "a: " + Array(repeating: typeError, count: 4).joined(separator: " "),
                "a: The \"key\" argument must be of type string. Received type number (42)",
            ])
    }

    @Test func overCapacityRejectsAndTheStoreGoesOn() throws {
        let shared = try SharedHarness(["a"], maxBytes: 4096)
        shared.run(
            "a",
            """
            (async () => {
              await ctx.shared.set('small', 'kept');
              const error = await ctx.shared.set('big', new Uint8Array(5000)).catch((error) => error);
              log(error instanceof Error, error.name, error.message);
              log(await ctx.shared.get('big'), await ctx.shared.get('small'));
              await ctx.shared.set('other', 'fits');
              log(await ctx.shared.get('other'));
            })()
            """)
        #expect(shared.errors == [])
        // The value: header 4, view tag and kind 2, buffer tag 1, length 2, bytes 5000, offset 1, length 2.
        // In memory, with a slot of 64: 5012 bytes in a 5056-byte allocation. Used: "kept" (10 bytes encoded) in a
        // 64-byte allocation, its key inline.
        let message =
            "ctx.shared.set(\"big\"): the value takes 5012 bytes encoded, 5120 bytes of memory with its key; the store "
            + "holds 128 of its 4096 bytes (--store-max-bytes), so it does not fit"
        #expect(shared.output == ["a: true Error \(message)", "a: undefined kept", "a: fits"])
    }

    /// A 16 MiB value fits through set and get under the default 64 MiB heap limit, as bytes and as a string.
    @Test func sixteenMebibyteValues() throws {
        let shared = try SharedHarness(["a"], maxBytes: 256 << 20, heapLimit: HandlerRuntime.defaultHeapLimit)
        shared.run(
            "a",
            """
            (async () => {
              const size = 16 << 20;
              let bytes = new Uint8Array(size);
              for (let i = 0; i < size; i += 4093) bytes[i] = i & 0xff;
              await ctx.shared.set('bytes', bytes);
              bytes = null;
              const back = await ctx.shared.get('bytes');
              let same = back.length === size;
              for (let i = 0; i < size; i += 4093) same &&= back[i] === (i & 0xff);
              log('bytes', same, back.byteLength);
              let text = 'x'.repeat(size - 1) + '\\u00e9';
              await ctx.shared.set('text', text);
              text = null;
              const read = await ctx.shared.get('text');
              log('text', read.length, read.endsWith('x\\u00e9'));
            })()
            """)
        #expect(shared.errors == [])
        #expect(shared.output == ["a: bytes true 16777216", "a: text 16777216 true"])
        #expect(shared.runtime("a").isFailed == false)
    }

    @Test func publishDeliversLaterToTheSubscribersOfThatMomentInOrder() throws {
        let shared = try SharedHarness(["a", "b"])
        shared.run(
            "b",
            """
            ctx.shared.subscribe('news', (m) => log('first', m.n));
            ctx.shared.subscribe('news', (m) => log('second', m.n));
            """
        )
        shared.run(
            "a", "ctx.shared.publish('news', { n: 1 }); log('published 1'); ctx.shared.publish('news', { n: 2 });")
        #expect(shared.scheduled == 1)
        shared.run("b", "ctx.shared.subscribe('news', (m) => log('late', m.n));")
        #expect(shared.output == ["a: published 1"])
        shared.deliver()
        shared.run("a", "ctx.shared.publish('news', { n: 3 }); ctx.shared.publish('elsewhere', { n: 4 });")
        shared.deliver()
        #expect(shared.errors == [])
        #expect(
            shared.output == [
                "a: published 1", "b: first 1", "b: second 1", "b: first 2", "b: second 2", "b: first 3", "b: second 3",
                "b: late 3",
            ])
    }

    @Test func eachSubscriberGetsItsOwnCopyOfTheValueAtPublishTime() throws {
        let shared = try SharedHarness(["a", "b"])
        shared.run(
            "b",
            """
            ctx.shared.subscribe('c', (m) => { globalThis.seen = m; m.list.push('mutated'); });
            ctx.shared.subscribe('c', (m) => log(m !== globalThis.seen, JSON.stringify(m), m.when instanceof Date));
            """)
        shared.run(
            "a", "const value = { list: [1], when: new Date(0) }; ctx.shared.publish('c', value); value.list.push(2);")
        shared.deliver()
        #expect(shared.errors == [])
        #expect(shared.output == ["b: true {\"list\":[1],\"when\":\"1970-01-01T00:00:00.000Z\"} true"])
    }

    @Test func aThrowingSubscriberIsLoggedAndTheOthersStillReceive() throws {
        let shared = try SharedHarness(["a", "b"])
        shared.run(
            "b",
            """
            ctx.shared.subscribe('c', function bad() { throw new Error('boom'); });
            ctx.shared.subscribe('c', async () => { await null; throw new TypeError('later'); });
            ctx.shared.subscribe('c', (m) => log('healthy', m));
            """)
        shared.run(
            "a", "ctx.shared.subscribe('c', (m) => log('also', m)); ctx.shared.publish('c', 'x');", connection: 2)
        shared.run("a", "ctx.shared.publish('c', 'y');")
        shared.deliver()
        #expect(shared.output == ["b: healthy x", "b: healthy y", "a: also y"])
        let faults = shared.errors
        #expect(faults.count == 4)
        #expect(faults.allSatisfy { $0.hasPrefix("b: ") })
        // The subscriptions were made while b's connection 1 was handled: their faults are that connection's.
        #expect(
            faults.first?.hasPrefix(
                "b: uncaught exception in a ctx.shared subscriber of \"c\" (connection 1): Error: boom\n    at bad (")
                == true)
        #expect(faults.contains { $0.contains("TypeError: later") })
        #expect(shared.fixture.host.destroyed == [1])
        #expect(shared.runtime("b").isFailed == false)
    }

    @Test func unsubscribeDuringADeliveryAndSubscribeInsideACallback() throws {
        let shared = try SharedHarness(["a", "b"])
        shared.run(
            "b",
            """
            let offSecond;
            ctx.shared.subscribe('c', (m) => {
              log('first', m);
              offSecond();
              ctx.shared.subscribe('c', (n) => log('added in a callback', n));
            });
            offSecond = ctx.shared.subscribe('c', (m) => log('second', m));
            """)
        shared.run("a", "ctx.shared.publish('c', 1); ctx.shared.publish('c', 2);")
        shared.deliver()
        shared.run("a", "ctx.shared.publish('c', 3);")
        shared.deliver()
        #expect(shared.errors == [])
        // A subscription made during a delivery gets only what is published after it was made.
        #expect(
            shared.output == [
                "b: first 1", "b: first 2", "b: first 3", "b: added in a callback 3", "b: added in a callback 3",
            ])
        #expect(shared.store.subscriberCount(channel: "c") == 4)
    }

    @Test func unsubscribeIsIdempotent() throws {
        let shared = try SharedHarness(["a"])
        shared.run(
            "a",
            """
            const off = ctx.shared.subscribe('c', () => log('never'));
            const other = ctx.shared.subscribe('c', () => log('other'));
            log(typeof off, off(), off(), off === other);
            """)
        #expect(shared.store.subscriberCount(channel: "c") == 1)
        shared.run("a", "ctx.shared.publish('c', 1)", connection: 2)
        shared.deliver()
        #expect(shared.errors == [])
        #expect(shared.output == ["a: function undefined undefined false", "a: other"])
    }

    @Test func unloadRemovesTheHandlersSubscriptions() throws {
        let shared = try SharedHarness(["a", "b"])
        shared.run("b", "ctx.shared.subscribe('c', () => log('b got it')); ctx.shared.subscribe('d', () => {});")
        shared.run("a", "ctx.shared.subscribe('c', () => log('a got it'));")
        shared.run("a", "ctx.shared.publish('c', 0)", connection: 2)
        shared.runtime("b").unload()
        #expect(shared.store.subscriberCount(channel: "c") == 1)
        #expect(shared.store.subscriberCount(channel: "d") == 0)
        shared.deliver()
        shared.run("a", "ctx.shared.publish('c', 1)", connection: 2)
        shared.deliver()
        #expect(shared.errors == [])
        #expect(shared.output == ["a: a got it", "a: a got it"])
    }

    @Test func aFailedPublishDeliversNothing() throws {
        let shared = try SharedHarness(["a", "b"])
        shared.run("b", "ctx.shared.subscribe('c', (m) => log('got', m));")
        shared.run("a", "try { ctx.shared.publish('c', { f() {} }); } catch (error) { log(error.name); }")
        #expect(!shared.store.hasPendingDeliveries)
        #expect(shared.scheduled == 0)
        shared.deliver()
        #expect(shared.output == ["a: DataCloneError"])
    }

    /// A connection does not receive what it published itself, nor what a timer it set publishes (that timer's work
    /// is the connection's); the handler's other connections do.
    @Test func aConnectionDoesNotReceiveItsOwnMessages() throws {
        let shared = try SharedHarness(["a"])
        shared.run("a", "ctx.shared.subscribe('c', (m) => log('connection 1 got', m));", connection: 1)
        shared.run("a", "ctx.shared.subscribe('c', (m) => log('connection 2 got', m));", connection: 2)
        shared.run("a", "setTimeout(() => ctx.shared.subscribe('c', (m) => log('a timer got', m)), 0);", connection: 3)
        shared.fixture.host.advance(1, shared.runtime("a"))
        shared.run("a", "ctx.shared.publish('c', 'from 1');", connection: 1)
        shared.run("a", "setTimeout(() => ctx.shared.publish('c', 'from a timer'), 0);", connection: 3)
        shared.fixture.host.advance(1, shared.runtime("a"))
        shared.deliver()
        #expect(shared.errors == [])
        #expect(
            shared.output == [
                "a: connection 2 got from 1", "a: a timer got from 1", "a: connection 1 got from a timer",
                "a: connection 2 got from a timer",
            ])
    }

    /// The relay of the design's example, verbatim: lines go to every other connection, and the peer count returns
    /// to 0 once all have closed.
    @Test func relayExample() throws {
        let store = InProcessSharedStore(maxBytes: 1 << 20) {}
        let fixture = try HandlerFixture([
            "relay.tcp.4000.port.js": """
            export async function handle(conn, ctx) {
              const n = ((await ctx.shared.get("relay:peers")) ?? 0) + 1;
              await ctx.shared.set("relay:peers", n);

              const off = ctx.shared.subscribe("relay:line", (line) => conn.write(line));
              conn.on("data", (buf) => ctx.shared.publish("relay:line", buf));

              conn.on("close", async () => {
                off();
                await ctx.shared.set("relay:peers", (await ctx.shared.get("relay:peers")) - 1);
              });
            }
            """
        ])
        let runtime = try fixture.runtime("relay.tcp.4000.port.js", store: store, storeOwner: 1)
        defer { runtime.unload() }
        for connection in 1...5 { #expect(runtime.acceptConnection(ConnectionID(connection), peer) == .ok) }
        #expect(store.get("relay:peers") == Self.encoded(5))
        runtime.deliver(2, "hello from 2\n")
        runtime.deliver(4, "and from 4\n")
        store.deliverPending()
        for connection in 1...5 {
            let expected = (connection == 2 ? "" : "hello from 2\n") + (connection == 4 ? "" : "and from 4\n")
            #expect(fixture.host.text(ConnectionID(connection)) == expected, "connection \(connection)")
        }
        for connection in 1...5 { _ = runtime.deliverClose(ConnectionID(connection), hadError: false) }
        #expect(store.get("relay:peers") == Self.encoded(0))
        #expect(store.subscriberCount(channel: "relay:line") == 0)
        #expect(fixture.host.errors == [])
    }

    /// The clone format of a small integer.
    static func encoded(_ number: Int) -> [UInt8] {
        var writer = CloneWriter()
        writer.number(Double(number))
        return writer.bytes
    }
}
