import BerthStore
import Testing

@testable import BerthRuntime

/// A SharedStore that answers get, set and delete only when the test says so, as one across a socket would; an
/// InProcessSharedStore does the work when the answer is given.
final class DeferringSharedStore: SharedStore {
    let backing = InProcessSharedStore(maxBytes: 1 << 20) {}
    private var answers: [() -> Void] = []
    var statistics: SharedStoreStatistics { backing.statistics }

    var pendingCount: Int { answers.count }

    /// Gives every answer asked for so far, in order.
    func answerAll() {
        let due = answers
        answers = []
        for answer in due { answer() }
    }

    func get(_ key: String, reply: Reply) -> Answer? { later(reply) { $0.get(key, reply: reply) } }
    func set(_ key: String, _ value: [UInt8], reply: Reply) -> Answer? {
        later(reply) { $0.set(key, value, reply: reply) }
    }
    func delete(_ key: String, reply: Reply) -> Answer? { later(reply) { $0.delete(key, reply: reply) } }

    private func later(_ reply: Reply, _ operation: @escaping (InProcessSharedStore) -> Answer?) -> Answer? {
        answers.append { [backing] in
            guard let answer = operation(backing) else { preconditionFailure("the in-process store answers at once") }
            reply.send(answer)
        }
        return nil
    }

    func publish(channel: String, _ message: [UInt8], origin: Origin?) throws(SharedStoreError) {
        try (backing as any SharedStore).publish(channel: channel, message, origin: origin)
    }

    func subscribe(channel: String, owner: OwnerID, origin: Origin?, deliver: @escaping ([UInt8]) -> Void)
        -> SubscriptionID
    {
        backing.subscribe(channel: channel, owner: owner, origin: origin, deliver: deliver)
    }

    func unsubscribe(_ id: SubscriptionID) { backing.unsubscribe(id) }
    func unsubscribeAll(owner: OwnerID) { backing.unsubscribeAll(owner: owner) }
    func deliverPending(maxCount: Int) { backing.deliverPending(maxCount: maxCount) }
}

/// ctx.shared over a store that answers later: the promises settle when the answers come, as work of the connection
/// that asked, and a runtime unloaded meanwhile drops them.
@Suite(.timeLimit(.minutes(2)))
struct DeferredSharedStoreTests {
    static let handler = """
        export function handle(conn, ctx) {
          conn.on('data', async (data) => {
            const command = data.toString();
            if (command === 'set') {
              await ctx.shared.set('k', { n: 1 });
              conn.write('set done\\n');
            } else if (command === 'get') {
              conn.write(`got ${JSON.stringify(await ctx.shared.get('k'))}\\n`);
            } else if (command === 'delete') {
              await ctx.shared.delete('k');
              conn.write(`deleted, now ${await ctx.shared.get('k')}\\n`);
            } else if (command === 'too big') {
              await ctx.shared.set('big', 'x'.repeat(2 << 20)).catch((error) => conn.write(`${error.message}\\n`));
            } else if (command === 'unhandled') {
              await ctx.shared.set('big', 'x'.repeat(2 << 20));
            }
          });
        }
        """

    @Test func operationsSettleWhenTheStoreAnswers() throws {
        let store = DeferringSharedStore()
        let fixture = try HandlerFixture(["t.tcp.7000.port.js": Self.handler])
        let runtime = try fixture.runtime("t.tcp.7000.port.js", store: store, storeOwner: 1)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        for (command, expected) in [
            ("set", "set done\n"), ("get", #"got {"n":1}"# + "\n"), ("delete", "deleted, now undefined\n"),
        ] {
            host.sent[1] = []
            #expect(runtime.deliver(1, command) == .ok)
            #expect(store.pendingCount == 1 && host.text(1) == "", "\(command) waits for the store")
            while store.pendingCount > 0 { store.answerAll() }
            #expect(host.text(1) == expected)
        }
        host.sent[1] = []
        #expect(runtime.deliver(1, "too big") == .ok)
        store.answerAll()
        #expect(host.text(1).hasPrefix(#"ctx.shared.set("big"): the value takes"#))
        #expect(host.errors == [] && host.destroyed == [])

        // A rejection nothing catches is the fault of the connection that asked: logged, and the connection destroyed.
        #expect(runtime.deliver(1, "unhandled") == .ok)
        store.answerAll()
        #expect(host.errors.count == 1)
        #expect(host.errors.first?.hasPrefix(#"t: uncaught exception in an async 'data' listener (connection 1): "#
            + #"Error: ctx.shared.set("big"): the value takes"#) == true)
        #expect(host.destroyed == [1])
    }

    @Test func anAnswerForAnUnloadedRuntimeIsDropped() throws {
        let store = DeferringSharedStore()
        let fixture = try HandlerFixture(["t.tcp.7000.port.js": Self.handler])
        var runtime: HandlerRuntime? = try fixture.runtime("t.tcp.7000.port.js", store: store, storeOwner: 1)
        #expect(runtime?.acceptConnection(1, peer) == .ok)
        #expect(runtime?.deliver(1, "set") == .ok)
        #expect(runtime?.deliver(1, "get") == .ok)
        #expect(store.pendingCount == 2)
        runtime?.unload()
        runtime = nil  // the store's pending replies still hold it
        store.answerAll()
        #expect(store.pendingCount == 0)
        #expect(fixture.host.errors == [] && fixture.host.text(1) == "")
        #expect(store.backing.keyCount == 1, "the set was done; only its answer was dropped")
    }
}
