import BerthStore
import Testing

@Suite struct SharedStoreTests {
    final class Recorder {
        var scheduled = 0
        var received: [String] = []
    }

    func makeStore(maxBytes: Int = 1 << 20) -> (SharedStore, Recorder) {
        let recorder = Recorder()
        return (SharedStore(maxBytes: maxBytes) { recorder.scheduled += 1 }, recorder)
    }

    @Test func keyValueWithByteAccounting() throws {
        let (store, _) = makeStore(maxBytes: 100)
        try store.set("a", [1, 2, 3])
        #expect(store.get("a") == [1, 2, 3])
        #expect(store.usedBytes == 4)
        try store.set("a", [1])
        #expect(store.usedBytes == 2)
        store.delete("a")
        store.delete("a")
        #expect(store.get("a") == nil && store.usedBytes == 0)
    }

    @Test func overTheBoundNothingChangesAndTheErrorNamesKeyAndSizes() throws {
        let (store, _) = makeStore(maxBytes: 100)
        try store.set("small", [UInt8](repeating: 0, count: 50))
        #expect(throws: SharedStore.CapacityError.self) { try store.set("big", [UInt8](repeating: 0, count: 60)) }
        do { try store.set("big", [UInt8](repeating: 0, count: 60)) } catch {
            #expect(error.description.contains("\"big\"") && error.description.contains("60 bytes") && error.description.contains("100"))
        }
        #expect(store.get("big") == nil && store.usedBytes == 55)
        // Replacing a value counts only the difference.
        try store.set("small", [UInt8](repeating: 0, count: 95))
        #expect(store.usedBytes == 100)
        // A replacement that does not fit leaves the old value and the count as they were.
        #expect(throws: SharedStore.CapacityError.self) { try store.set("small", [UInt8](repeating: 1, count: 96)) }
        #expect(store.get("small") == [UInt8](repeating: 0, count: 95) && store.usedBytes == 100 && store.keyCount == 1)
    }

    @Test func publishQueuesForCurrentSubscribersAndDeliversLaterInOrder() throws {
        let (store, recorder) = makeStore()
        _ = store.subscribe(channel: "c", owner: 1) { recorder.received.append("A\($0[0])") }
        _ = store.subscribe(channel: "c", owner: 2) { recorder.received.append("B\($0[0])") }
        #expect(try store.publish(channel: "c", [1]) == 2)
        _ = store.subscribe(channel: "c", owner: 3) { recorder.received.append("late\($0[0])") }
        try store.publish(channel: "c", [2])
        #expect(recorder.received.isEmpty, "never inside publish")
        #expect(recorder.scheduled == 1)
        store.deliverPending()
        #expect(recorder.received == ["A1", "B1", "A2", "B2", "late2"])
        #expect(!store.hasPendingDeliveries)
    }

    /// What subscribers publish while deliveries run waits for the next call, so a subscriber that republishes
    /// what it receives cannot keep one call going; the queue stays as short as the chain.
    @Test func aRepublishingSubscriberGetsOneDeliveryPerCall() throws {
        let (store, recorder) = makeStore()
        _ = store.subscribe(channel: "x", owner: 1) { message in
            recorder.received.append("x\(message[0])")
            _ = try? store.publish(channel: "x", [message[0] &+ 1])
        }
        try store.publish(channel: "x", [0])
        for call in 1...5 {
            store.deliverPending()
            #expect(recorder.received.count == call)
            #expect(recorder.scheduled == call + 1, "each call asks for the next one")
            #expect(store.hasPendingDeliveries)
        }
        #expect(recorder.received == ["x0", "x1", "x2", "x3", "x4"])
    }

    /// A fan-out larger than `maxCount` is spread over calls, in order, one request for a call at a time.
    @Test func aLargeFanOutIsSpreadOverCalls() throws {
        let (store, recorder) = makeStore()
        var count = 0
        for _ in 0..<2500 { _ = store.subscribe(channel: "f", owner: 1) { _ in count += 1 } }
        try store.publish(channel: "f", [1])
        try store.publish(channel: "f", [2])
        #expect(recorder.scheduled == 1)
        store.deliverPending(maxCount: 1000)
        #expect(count == 1000)
        #expect(recorder.scheduled == 2)
        store.deliverPending(maxCount: 1000)
        store.deliverPending(maxCount: 1000)
        store.deliverPending(maxCount: 1000)
        #expect(count == 4000)
        store.deliverPending(maxCount: 1000)
        #expect(count == 5000)
        #expect(!store.hasPendingDeliveries)
        #expect(recorder.scheduled == 5)
    }

    /// Unloading a handler with 100,000 subscriptions on one channel takes one pass, not one per subscription.
    /// Two subscribers that republish every message to their own channel double the backlog each turn: at the bound
    /// publish throws and nothing is queued, so memory stays bounded; deliveries drain the backlog again.
    @Test func theBacklogIsBoundedInDeliveriesAndBytes() throws {
        let (store, _) = makeStore()
        for _ in 0..<2 {
            _ = store.subscribe(channel: "x", owner: 1) { message in _ = try? store.publish(channel: "x", message) }
        }
        try store.publish(channel: "x", [1])
        var refused = 0
        for _ in 0..<40 {
            store.deliverPending(maxCount: 1 << 30)
            do { try store.publish(channel: "x", [2]) } catch { refused += 1 }
        }
        #expect(refused > 0)
        #expect(store.pendingDeliveryCount <= SharedStore.maxPendingDeliveries)

        let small = SharedStore(maxBytes: 100) {}
        _ = small.subscribe(channel: "c", owner: 1) { _ in }
        try small.publish(channel: "c", [UInt8](repeating: 0, count: 60))
        #expect(throws: SharedStore.BacklogError.self) { try small.publish(channel: "c", [UInt8](repeating: 0, count: 60)) }
        small.deliverPending()
        try small.publish(channel: "c", [UInt8](repeating: 0, count: 60))
    }

    @Test func anOwnerWithAHundredThousandSubscriptionsUnsubscribesAtOnce() {
        let (store, _) = makeStore()
        for _ in 0..<100_000 { _ = store.subscribe(channel: "f", owner: 1) { _ in } }
        let kept = store.subscribe(channel: "f", owner: 2) { _ in }
        let started = ContinuousClock.now
        store.unsubscribeAll(owner: 1)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(store.subscriberCount(channel: "f") == 1)
        store.unsubscribe(kept)
        #expect(store.subscriberCount(channel: "f") == 0)
    }

    @Test func unsubscribeDuringDeliveryAndSubscribeInsideACallback() throws {
        let (store, recorder) = makeStore()
        var second: SharedStore.SubscriptionID = 0
        _ = store.subscribe(channel: "c", owner: 1) { message in
            recorder.received.append("first\(message[0])")
            store.unsubscribe(second)
            _ = store.subscribe(channel: "c", owner: 1) { recorder.received.append("new\($0[0])") }
        }
        second = store.subscribe(channel: "c", owner: 2) { recorder.received.append("second\($0[0])") }
        try store.publish(channel: "c", [1])
        store.deliverPending()
        #expect(recorder.received == ["first1"])
        store.unsubscribe(second)
        #expect(store.subscriberCount(channel: "c") == 2)
    }

    @Test func aConnectionDoesNotReceiveWhatItPublished() throws {
        let (store, recorder) = makeStore()
        let sender = SharedStore.Origin(owner: 1, connection: 5)
        _ = store.subscribe(channel: "c", owner: 1, origin: sender) { recorder.received.append("sender\($0[0])") }
        _ = store.subscribe(channel: "c", owner: 1, origin: .init(owner: 1, connection: 6)) { recorder.received.append("other\($0[0])") }
        _ = store.subscribe(channel: "c", owner: 2, origin: .init(owner: 2, connection: 5)) { recorder.received.append("handler2\($0[0])") }
        _ = store.subscribe(channel: "c", owner: 1) { recorder.received.append("open\($0[0])") }
        #expect(try store.publish(channel: "c", [1], origin: sender) == 3)
        try store.publish(channel: "c", [2])
        store.deliverPending()
        #expect(recorder.received == ["other1", "handler21", "open1", "sender2", "other2", "handler22", "open2"])
    }

    @Test func anUnloadingOwnerLosesEverySubscription() throws {
        let (store, recorder) = makeStore()
        for channel in ["a", "b"] { _ = store.subscribe(channel: channel, owner: 7) { _ in recorder.received.append("x") } }
        _ = store.subscribe(channel: "a", owner: 8) { _ in recorder.received.append("y") }
        store.unsubscribeAll(owner: 7)
        try store.publish(channel: "a", [0])
        try store.publish(channel: "b", [0])
        store.deliverPending()
        #expect(recorder.received == ["y"])
    }
}

@Suite struct CloneFormatTests {
    @Test func primitivesRoundTrip() throws {
        var writer = CloneWriter()
        for number in [0.0, -0.0, 1, -1, 2147483647, -2147483648, 2147483648, 0.5, .nan, .infinity] { writer.number(number) }
        writer.string([0xD800, 0x41])
        var reader = try CloneReader(writer.bytes)
        var decoded: [Double] = []
        for _ in 0..<10 {
            switch try reader.tag() {
            case .int32: decoded.append(try reader.int32Payload())
            case .float64: decoded.append(try reader.float64())
            default: Issue.record("unexpected tag")
            }
        }
        #expect(decoded[1].sign == .minus && decoded[1] == 0)
        #expect(decoded[3] == -1 && decoded[5] == -2147483648 && decoded[6] == 2147483648 && decoded[7] == 0.5)
        #expect(decoded[8].isNaN && decoded[9] == .infinity)
        #expect(try reader.string() == [0xD800, 0x41])
        #expect(reader.isAtEnd)
    }

    @Test func corruptInputIsAnErrorNotACrash() throws {
        #expect(throws: CloneReader.FormatError.self) { try CloneReader([1, 2]) }
        #expect(throws: CloneReader.FormatError.self) { try CloneReader([0x42, 0x53, 0x43, 0x09]) }
        var reader = try CloneReader(CloneFormat.header + [0x07, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(throws: CloneReader.FormatError.self) { _ = try reader.string() }
        var truncated = try CloneReader(CloneFormat.header + [0x05, 1, 2])
        _ = try truncated.tag()
        #expect(throws: CloneReader.FormatError.self) { _ = try truncated.float64() }
    }
}
