/// The broker's own `SharedStore`: key/value and publish/subscribe in this process's memory, one per broker, confined
/// to the broker's loop thread. It answers every get, set and delete at once.
package final class InProcessSharedStore: SharedStore {
    package struct CapacityError: Error, Hashable, Sendable, CustomStringConvertible {
        package var key: String
        package var valueBytes: Int
        /// What the entry would cost in memory: see `InProcessSharedStore.cost(key:value:)`.
        package var entryBytes: Int
        package var usedBytes: Int
        package var maxBytes: Int
        package var description: String {
            "ctx.shared.set(\"\(key)\"): the value takes \(valueBytes) bytes encoded, \(entryBytes) bytes of memory "
                + "with its key; the store holds \(usedBytes) of its \(maxBytes) bytes (--store-max-bytes), so it does "
                + "not fit"
        }
    }

    private struct Subscription {
        var owner: OwnerID
        var origin: Origin?
        var channel: String
        var deliver: ([UInt8]) -> Void
    }

    /// A publish refused because the deliveries already waiting hold the bound: subscribers that publish more than
    /// they are delivered (two that republish each message to each other) would otherwise grow memory without end.
    package struct BacklogError: Error, Hashable, Sendable, CustomStringConvertible {
        package var channel: String
        package var pendingDeliveries: Int
        package var pendingBytes: Int
        package var description: String {
            "ctx.shared.publish(\"\(channel)\"): \(pendingDeliveries) deliveries of \(pendingBytes) bytes are still "
                + "waiting, the most the store queues; the message is not sent (do subscribers publish more than they "
                + "receive?)"
        }
    }

    /// At most this many deliveries wait at once; their messages count against `maxBytes` too (once per publish).
    package static let maxPendingDeliveries = 1 << 20

    private struct Delivery {
        var subscription: SubscriptionID
        var message: [UInt8]
        /// The last delivery of its publish: when it is done, the message's bytes leave the backlog.
        var isLast: Bool
    }

    package let maxBytes: Int
    package private(set) var usedBytes = 0
    private var values: [String: [UInt8]] = [:]
    private var subscriptions: [SubscriptionID: Subscription] = [:]
    private var channels: [String: [SubscriptionID]] = [:]
    private var lastSubscription = 0
    private var queue: [Delivery] = []
    private var queueHead = 0
    /// Bytes of the messages queued and not yet delivered to all their subscribers, each message counted once.
    private var pendingBytes = 0
    private let scheduleDeliveries: () -> Void
    /// Whether `scheduleDeliveries` was called and its `deliverPending` has not started yet.
    private var isDeliveryScheduled = false

    /// `scheduleDeliveries` is called when deliveries become pending; the broker then calls `deliverPending(…)` from
    /// its loop, on a later turn (publish never delivers inside the publish call). One call is outstanding at a time.
    package init(maxBytes: Int, scheduleDeliveries: @escaping () -> Void) {
        self.maxBytes = maxBytes
        self.scheduleDeliveries = scheduleDeliveries
    }

    package var keyCount: Int { values.count }

    package var statistics: SharedStoreStatistics {
        SharedStoreStatistics(keys: values.count, bytes: usedBytes, maxBytes: maxBytes,
                              subscriptions: subscriptions.count, pendingDeliveries: queue.count - queueHead)
    }

    package func get(_ key: String) -> [UInt8]? { values[key] }

    package func get(_ key: String, reply: Reply) -> Answer? { .success(values[key]) }

    package func set(_ key: String, _ value: [UInt8], reply: Reply) -> Answer? {
        do { try set(key, value) } catch { return .failure(SharedStoreError(error.description)) }
        return .success(nil)
    }

    package func delete(_ key: String, reply: Reply) -> Answer? {
        delete(key)
        return .success(nil)
    }

    /// Stores `value`; over the bound nothing changes and the error names the key and sizes. The key is hashed once:
    /// the value goes in first and comes back out in the rare case that it does not fit.
    package func set(_ key: String, _ value: [UInt8]) throws(CapacityError) {
        // The encoder's buffer keeps its growth capacity (64 bytes at least); a 4-byte value would pay for all of it.
        let value = value.capacity - value.count >= 16 ? value.withUnsafeBufferPointer { Array($0) } : value
        let needed = Self.cost(key: key, value: value)
        let previous = values.updateValue(value, forKey: key)
        let freed = previous.map { Self.cost(key: key, value: $0) } ?? 0
        guard usedBytes - freed + needed <= maxBytes else {
            if let previous { values[key] = previous } else { values.removeValue(forKey: key) }
            throw CapacityError(
                key: key, valueBytes: value.count, entryBytes: needed, usedBytes: usedBytes, maxBytes: maxBytes)
        }
        usedBytes += needed - freed
    }

    package func delete(_ key: String) {
        guard let old = values.removeValue(forKey: key) else { return }
        usedBytes -= Self.cost(key: key, value: old)
    }

    /// The memory an entry holds, in bytes, as 64-bit Linux lays it out (measured: within 16 bytes of the resident
    /// growth per entry, never below it): its dictionary slot, the key's and the value's heap storage.
    package static func cost(key: String, value: [UInt8]) -> Int {
        let keyCount = key.utf8.count
        // Up to 15 UTF-8 bytes a String lives in its 16 inline bytes; longer, in an object with a 32-byte header and
        // a NUL, which Swift rounds up once more than malloc does.
        let keyBytes = keyCount <= 15 ? 0 : mallocChunk(32 + keyCount + 1) + 16
        // An array's storage: object header, count and capacity words (32 bytes), then the elements.
        let valueBytes = value.capacity == 0 ? 0 : mallocChunk(32 + value.capacity)
        return slotBytes + keyBytes + valueBytes
    }

    /// A slot is a 16-byte String and an 8-byte array reference; the table doubles at 3/4 full, so a slot costs
    /// between 32 and 64 bytes per entry. The bound counts the worst.
    static let slotBytes = 64

    /// glibc's malloc: 8 bytes of header, rounded up to 16.
    static func mallocChunk(_ size: Int) -> Int { (size + 8 + 15) & ~15 }

    /// Registers `deliver` for `channel`; it receives the encoded message of each later publish.
    package func subscribe(
        channel: String, owner: OwnerID, origin: Origin? = nil, deliver: @escaping ([UInt8]) -> Void
    ) -> SubscriptionID {
        lastSubscription += 1
        let id = SubscriptionID(lastSubscription)
        subscriptions[id] = Subscription(owner: owner, origin: origin, channel: channel, deliver: deliver)
        channels[channel, default: []].append(id)
        return id
    }

    /// Idempotent: a second call, or a call after the owner unloaded, does nothing.
    package func unsubscribe(_ id: SubscriptionID) {
        guard let subscription = subscriptions.removeValue(forKey: id) else { return }
        channels[subscription.channel]?.removeAll { $0 == id }
        if channels[subscription.channel]?.isEmpty == true { channels.removeValue(forKey: subscription.channel) }
    }

    /// Removes every subscription of a handler that is unloading, in one pass over each channel it used (one
    /// `unsubscribe` per subscription would take time quadratic in a channel's subscribers, holding up shutdown).
    package func unsubscribeAll(owner: OwnerID) {
        var used: Set<String> = []
        subscriptions = subscriptions.filter { _, subscription in
            guard subscription.owner == owner else { return true }
            used.insert(subscription.channel)
            return false
        }
        for channel in used {
            channels[channel]?.removeAll { subscriptions[$0] == nil }
            if channels[channel]?.isEmpty == true { channels.removeValue(forKey: channel) }
        }
    }

    package func subscriberCount(channel: String) -> Int { channels[channel]?.count ?? 0 }

    /// Queues `message` for every subscriber current now except those `origin` itself made; returns how many.
    /// Deliveries run later, in publish order.
    /// Throws, queueing nothing, when the deliveries waiting would exceed `maxPendingDeliveries` or their messages
    /// `maxBytes`.
    @discardableResult
    package func publish(channel: String, _ message: [UInt8], origin: Origin? = nil) throws(BacklogError) -> Int {
        guard let current = channels[channel], !current.isEmpty else { return 0 }
        let pending = queue.count - queueHead
        let recipients = origin == nil ? current.count : current.count(where: { subscriptions[$0]?.origin != origin })
        guard recipients > 0 else { return 0 }
        guard pending + recipients <= Self.maxPendingDeliveries, pendingBytes + message.count <= maxBytes else {
            throw BacklogError(channel: channel, pendingDeliveries: pending, pendingBytes: pendingBytes)
        }
        pendingBytes += message.count
        var remaining = recipients
        for id in current where origin == nil || subscriptions[id]?.origin != origin {
            remaining -= 1
            queue.append(Delivery(subscription: id, message: message, isLast: remaining == 0))
        }
        requestDelivery()
        return recipients
    }

    package var hasPendingDeliveries: Bool { queueHead < queue.count }
    package var pendingDeliveryCount: Int { queue.count - queueHead }

    /// Runs the deliveries queued before this call, in order, at most `maxCount`; what the subscribers publish
    /// meanwhile waits for the next call, so subscribers that republish cannot hold the loop, and a fan-out larger
    /// than `maxCount` is spread over turns. Asks for another call while deliveries are left. A subscription removed
    /// before its turn is skipped.
    package func deliverPending(maxCount: Int = .max) {
        isDeliveryScheduled = false
        let end = queue.count - queueHead > maxCount ? queueHead + maxCount : queue.count
        while queueHead < end {
            let delivery = queue[queueHead]
            queueHead += 1
            if delivery.isLast { pendingBytes -= delivery.message.count }
            subscriptions[delivery.subscription]?.deliver(delivery.message)
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead >= queue.count / 2 {
            // A queue that never empties (a republishing chain) must not keep what it delivered.
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        if queueHead < queue.count { requestDelivery() }
    }

    package func publish(channel: String, _ message: [UInt8], origin: Origin?) throws(SharedStoreError) {
        do { try publish(channel: channel, message, origin: origin) as Int } catch {
            throw SharedStoreError(error.description)
        }
    }

    private func requestDelivery() {
        guard !isDeliveryScheduled else { return }
        isDeliveryScheduled = true
        scheduleDeliveries()
    }
}
