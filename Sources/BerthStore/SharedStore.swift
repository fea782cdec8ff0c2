/// `ctx.shared`'s backend, as the handler runtime and the broker see it: key/value and publish/subscribe over encoded
/// structured-clone bytes (it never sees a JS value). `InProcessSharedStore` is the broker's own; one reached over a
/// socket, or Redis, implements the same protocol. Loop-confined: every call and every answer happens on the broker's
/// loop thread, and no answer runs inside the call that asked (the runtime may be running JavaScript then).
package protocol SharedStore: AnyObject {
    /// The encoded value under `key` (nil when there is none): returned at once, or nil when the answer comes later
    /// through `reply`.
    func get(_ key: String, reply: SharedStoreReply) -> SharedStoreAnswer?

    /// Stores `value` under `key`; answers nil on success, or why it refused (nothing changed then).
    func set(_ key: String, _ value: [UInt8], reply: SharedStoreReply) -> SharedStoreAnswer?

    /// Removes `key` (no error when it is absent); answers nil.
    func delete(_ key: String, reply: SharedStoreReply) -> SharedStoreAnswer?

    /// Queues `message` for every subscriber of `channel` current now, except those `origin` itself made; the
    /// deliveries run later, in publish order, never inside this call. Throws, queueing nothing, when the store's
    /// backlog is full.
    func publish(channel: String, _ message: [UInt8], origin: SharedStoreOrigin?) throws(SharedStoreError)

    /// Registers `deliver` for `channel`: it receives the encoded message of each later publish, on the loop thread.
    func subscribe(
        channel: String, owner: SharedStoreOwnerID, origin: SharedStoreOrigin?, deliver: @escaping ([UInt8]) -> Void
    ) -> SharedStoreSubscriptionID

    /// Idempotent: a second call, or a call after the owner unloaded, does nothing.
    func unsubscribe(_ id: SharedStoreSubscriptionID)

    /// Removes every subscription of a handler that is unloading.
    func unsubscribeAll(owner: SharedStoreOwnerID)

    /// Runs deliveries that became pending since the store asked the broker for a turn (at most `maxCount`), and asks
    /// for another turn while any are left: the broker drives delivery, so subscribers cannot hold its loop.
    func deliverPending(maxCount: Int)

    /// What the store holds now, for the broker's metrics.
    var statistics: SharedStoreStatistics { get }
}

/// The size of a store: what `/metrics` reports as `berth_shared_*`.
package struct SharedStoreStatistics: Equatable, Sendable {
    package var keys: Int
    /// What the entries take against `--store-max-bytes`: keys, values and per-entry bookkeeping.
    package var bytes: Int
    package var maxBytes: Int
    package var subscriptions: Int
    /// Deliveries queued and not yet run.
    package var pendingDeliveries: Int

    package init(keys: Int, bytes: Int, maxBytes: Int, subscriptions: Int, pendingDeliveries: Int) {
        (self.keys, self.bytes, self.maxBytes) = (keys, bytes, maxBytes)
        (self.subscriptions, self.pendingDeliveries) = (subscriptions, pendingDeliveries)
    }
}

/// What a store answers: a get's encoded value (nil when the key has none; always nil for set and delete), or why it
/// refused the operation.
package typealias SharedStoreAnswer = Result<[UInt8]?, SharedStoreError>

/// Why a store refused an operation; the handler's promise rejects with `message`.
package struct SharedStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Receives the answers a store gives later, on the loop thread: the handler runtime, which settles the promise that
/// `request` stands for.
package protocol SharedStoreClient: AnyObject {
    func sharedStore(answered request: SharedStoreRequestID, with answer: SharedStoreAnswer)
}

/// Where a store sends an answer it gives later. Making one allocates nothing, so an answer given at once costs none.
package struct SharedStoreReply {
    package let client: any SharedStoreClient
    package let request: SharedStoreRequestID
    package init(to client: any SharedStoreClient, request: SharedStoreRequestID) {
        (self.client, self.request) = (client, request)
    }

    /// Delivers the answer; call it once, on a later turn of the loop than the call that asked.
    package func send(_ answer: SharedStoreAnswer) { client.sharedStore(answered: request, with: answer) }
}

/// Identifies one request of a client, for its later answer.
package struct SharedStoreRequestID: Hashable, Sendable {
    package var rawValue: Int
    package init(_ rawValue: Int) { self.rawValue = rawValue }
    /// Hashes as the Int it wraps does, by Int's one-word fast path (a dictionary key on the per-message path).
    package func _rawHashValue(seed: Int) -> Int { rawValue._rawHashValue(seed: seed) }
}

/// Identifies one `subscribe` call, for unsubscribe.
package struct SharedStoreSubscriptionID: Hashable, Sendable {
    package var rawValue: Int
    package init(_ rawValue: Int) { self.rawValue = rawValue }
    /// Hashes as the Int it wraps does, by Int's one-word fast path (a dictionary key on the per-message path).
    package func _rawHashValue(seed: Int) -> Int { rawValue._rawHashValue(seed: seed) }
}

/// Identifies the handler that owns subscriptions, so they all go when it unloads.
package struct SharedStoreOwnerID: Hashable, Sendable {
    package var rawValue: Int
    package init(_ rawValue: Int) { self.rawValue = rawValue }
    /// Hashes as the Int it wraps does, by Int's one-word fast path (a dictionary key on the per-message path).
    package func _rawHashValue(seed: Int) -> Int { rawValue._rawHashValue(seed: seed) }
}

/// Who is publishing or subscribing: a handler and, when it happens while one of its connections' events is handled,
/// that connection (the broker's number for it). A message is not delivered back to subscriptions of the connection
/// that published it (a chat relay does not echo a line to its sender); subscriptions made outside a connection
/// receive everything.
package struct SharedStoreOrigin: Hashable, Sendable {
    package var owner: SharedStoreOwnerID
    package var connection: Int
    package init(owner: SharedStoreOwnerID, connection: Int) { (self.owner, self.connection) = (owner, connection) }
}

extension SharedStore {
    package typealias OwnerID = SharedStoreOwnerID
    package typealias SubscriptionID = SharedStoreSubscriptionID
    package typealias RequestID = SharedStoreRequestID
    package typealias Origin = SharedStoreOrigin
    package typealias Reply = SharedStoreReply
    package typealias Answer = SharedStoreAnswer
}
