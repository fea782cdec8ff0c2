package import BerthPlan

/// Per-source state of one endpoint, keyed by source prefix, with a fixed capacity: the least recently used source
/// goes first, so a flood from millions of distinct sources cannot grow memory. Every operation is O(1).
package struct SourceTable<State> {
    /// A source address reduced to its prefix (`sourcePrefix`): the unit "per source" limits count by.
    package struct Key: Hashable, Sendable {
        var family: IPFamily
        var prefix: UInt128
    }

    private struct Slot {
        var key: Key
        var state: State
        var lastUsed: UInt64
        var previous: Int
        var next: Int
    }

    package let capacity: Int
    private var index: [Key: Int] = [:]
    private var slots: [Slot] = []
    /// Most recently used first; -1 ends the list.
    private var head = -1
    private var tail = -1
    /// Slots of expired sources, reused before the table grows.
    private var freeSlots: [Int] = []

    package init(capacity: Int) {
        precondition(capacity > 0, "a source table needs room for one source")
        self.capacity = capacity
        index.reserveCapacity(min(capacity, 4096))
    }

    package var count: Int { index.count }

    package static func key(for address: IPAddress, prefix: SourcePrefix) -> Key {
        let address = address.unmapped
        let length = address.family == .ipv4 ? prefix.ipv4 : prefix.ipv6
        return Key(family: address.family, prefix: IPPrefix(family: address.family, address: address.value, length: length).address)
    }

    /// The state of `key`, created with `make()` if absent (evicting the least recently used source when full);
    /// `update` may change it. Marks the source as most recently used.
    package mutating func withState<Result>(
        _ key: Key, now: UInt64 = 0, make: () -> State, _ update: (inout State) -> Result
    ) -> Result {
        if let slot = index[key] {
            moveToFront(slot)
            slots[slot].lastUsed = now
            return update(&slots[slot].state)
        }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = Slot(key: key, state: make(), lastUsed: now, previous: -1, next: -1)
        } else if index.count < capacity {
            slot = slots.count
            slots.append(Slot(key: key, state: make(), lastUsed: now, previous: -1, next: -1))
        } else {
            slot = tail
            unlink(slot)
            index.removeValue(forKey: slots[slot].key)
            slots[slot].key = key
            slots[slot].state = make()
            slots[slot].lastUsed = now
        }
        index[key] = slot
        linkFront(slot)
        return update(&slots[slot].state)
    }

    /// Changes an existing source without touching its recency; absent sources (evicted) are left alone.
    package mutating func ifPresent(_ key: Key, _ update: (inout State) -> Void) {
        guard let slot = index[key] else { return }
        update(&slots[slot].state)
    }

    /// Forgets sources unused since `now - idle` whose state `isIdle` allows (no open connections), oldest first;
    /// the walk stops at the first recent source, so the cost is what it removes.
    package mutating func removeExpired(now: UInt64, idle: UInt64, isIdle: (State) -> Bool) {
        var slot = tail
        while slot >= 0, now &- slots[slot].lastUsed >= idle {
            let previous = slots[slot].previous
            if isIdle(slots[slot].state) {
                unlink(slot)
                index.removeValue(forKey: slots[slot].key)
                freeSlots.append(slot)
            }
            slot = previous
        }
    }

    private mutating func unlink(_ slot: Int) {
        let (previous, next) = (slots[slot].previous, slots[slot].next)
        if previous >= 0 { slots[previous].next = next } else { head = next }
        if next >= 0 { slots[next].previous = previous } else { tail = previous }
    }

    private mutating func linkFront(_ slot: Int) {
        slots[slot].previous = -1
        slots[slot].next = head
        if head >= 0 { slots[head].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func moveToFront(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        linkFront(slot)
    }
}
