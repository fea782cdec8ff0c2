import BerthPlan
import BerthStore
import BerthTestSupport
import Testing

import BerthJS
@testable import BerthRuntime

/// A HandlerHost for tests: records logs, runs timers when the test advances its clock, and simulates the native
/// sockets. Writes are "sent" synchronously up to `syncWriteLimit` bytes; a copy of the rest stays queued (as the
/// broker's write queue holds it) until the test flushes it.
final class FakeHandlerHost: HandlerHost {
    struct Timer {
        var due: Double
        var sequence: Int
    }

    struct Datagram: Equatable {
        var bytes: [UInt8]
        var address: String
        var port: Int
    }

    var logs: [(level: LogLevel, message: String)] = []
    var now = 1000.0
    var timers: [TimerID: Timer] = [:]
    private var sequence = 0
    /// Bytes each write may send during the call; the rest waits for `flush`.
    var syncWriteLimit = Int.max
    /// Bytes sent per connection, in order.
    var sent: [ConnectionID: [UInt8]] = [:]
    /// Unsent bytes per connection, oldest first.
    var queued: [ConnectionID: [UInt8]] = [:]
    var ended: [ConnectionID] = []
    var destroyed: [ConnectionID] = []
    var paused: Set<ConnectionID> = []
    var pauseCalls = 0
    var resumeCalls = 0
    var noDelay: [ConnectionID: Bool] = [:]
    var keepAlive: [ConnectionID: (Bool, Int)] = [:]
    var datagrams: [Datagram] = []
    var cancelled: [TimerID] = []
    /// Whether the runtime asked for a `runImmediates()` call (the next loop iteration's check phase).
    var immediatesRequested = false

    func log(_ level: LogLevel, _ message: String) { logs.append((level, message)) }
    func monotonicMilliseconds() -> Double { now }

    func scheduleTimer(id: TimerID, afterMilliseconds: Double) {
        sequence += 1
        timers[id] = Timer(due: now + afterMilliseconds, sequence: sequence)
    }

    func cancelTimer(id: TimerID) {
        cancelled.append(id)
        timers[id] = nil
    }

    func requestImmediates() { immediatesRequested = true }

    func write(connection: ConnectionID, bytes: RawSpan) -> Int {
        var count = 0
        bytes.withUnsafeBytes { bytes in
            if queued[connection, default: []].isEmpty {
                count = min(bytes.count, syncWriteLimit)
                sent[connection, default: []].append(contentsOf: bytes[0..<count])
            }
            queued[connection, default: []].append(contentsOf: bytes[count...])
        }
        return count
    }

    func end(connection: ConnectionID) { ended.append(connection) }
    func destroy(connection: ConnectionID) { destroyed.append(connection) }
    func pause(connection: ConnectionID) {
        pauseCalls += 1
        paused.insert(connection)
    }
    func resume(connection: ConnectionID) {
        resumeCalls += 1
        paused.remove(connection)
    }
    func setNoDelay(connection: ConnectionID, _ isEnabled: Bool) { noDelay[connection] = isEnabled }
    func setKeepAlive(connection: ConnectionID, _ isEnabled: Bool, initialDelayMilliseconds: Int) {
        keepAlive[connection] = (isEnabled, initialDelayMilliseconds)
    }
    func send(datagram: RawSpan, to address: String, port: Int) {
        datagrams.append(Datagram(bytes: datagram.withUnsafeBytes { Array($0) }, address: address, port: port))
    }

    // MARK: Driving the runtime

    /// Sends up to `limit` queued bytes of `connection` and reports them written.
    @discardableResult
    func flush(_ connection: ConnectionID, _ runtime: HandlerRuntime, limit: Int = Int.max) -> DispatchOutcome {
        let count = min(limit, queuedCount(connection))
        sent[connection, default: []].append(contentsOf: queued[connection, default: []].prefix(count))
        queued[connection, default: []].removeFirst(count)
        return runtime.deliverWritten(connection, byteCount: count)
    }

    func queuedCount(_ connection: ConnectionID) -> Int { queued[connection, default: []].count }

    /// One iteration of the broker's loop at the current time, as libuv runs it: the timers due now, in order of due
    /// time then of scheduling (one set meanwhile is at least 1 ms away), then the immediates asked for.
    func turn(_ runtime: HandlerRuntime) {
        let due = timers.filter { $0.value.due <= now }.sorted {
            ($0.value.due, $0.value.sequence) < ($1.value.due, $1.value.sequence)
        }
        for (id, timer) in due where timers[id]?.sequence == timer.sequence {
            timers[id] = nil
            _ = runtime.fireTimer(id: id)
        }
        if immediatesRequested {
            immediatesRequested = false
            _ = runtime.runImmediates()
        }
    }

    /// Advances the clock by `milliseconds`, running loop iterations at each due time on the way (at most
    /// `maxTurns`, so an endless chain of immediates ends the test's loop instead of hanging it).
    func advance(_ milliseconds: Double, _ runtime: HandlerRuntime, maxTurns: Int = 10_000) {
        let target = now + milliseconds
        for _ in 0..<maxTurns {
            if !immediatesRequested {
                guard let next = timers.values.map(\.due).min(), next <= target else { break }
                now = max(now, next)
            }
            turn(runtime)
        }
        now = target
    }

    func text(_ connection: ConnectionID) -> String { String(decoding: sent[connection, default: []], as: UTF8.self) }

    var errors: [String] { logs.filter { $0.level == .error }.map(\.message) }
    var output: [String] { logs.filter { $0.level != .error }.map(\.message) }
}

/// A handler folder in a temporary directory, and runtimes over it that the test unloads.
final class HandlerFixture {
    let folder: TemporaryFolder
    let host = FakeHandlerHost()

    init(_ files: [String: String]) throws {
        folder = try TemporaryFolder()
        try folder.write(files)
    }

    func runtime(
        _ entry: String, transport: Transport = .tcp, heapLimit: Int = 16 << 20, budget: Double = 200,
        host: FakeHandlerHost? = nil, store: (any SharedStore)? = nil, storeOwner: SharedStoreOwnerID = 0
    ) throws -> HandlerRuntime {
        try HandlerRuntime(
            folder: folder.path, entry: entry, name: String(entry.prefix { $0 != "." }), transport: transport,
            port: 7000, heapLimit: heapLimit, cpuBudgetMilliseconds: budget, host: host ?? self.host, store: store,
            storeOwner: storeOwner)
    }

    /// A TCP handler file "t.tcp.7000.port.js" with `source`, loaded.
    static func tcp(_ source: String, files: [String: String] = [:]) throws -> (HandlerFixture, HandlerRuntime) {
        let fixture = try HandlerFixture(files.merging(["t.tcp.7000.port.js": source]) { $1 })
        return (fixture, try fixture.runtime("t.tcp.7000.port.js"))
    }
}

let peer = ConnectionInfo(
    remoteAddress: "192.0.2.7", remotePort: 50_000, remoteFamily: .ipv4, localAddress: "192.0.2.1", localPort: 7000)

extension HandlerRuntime {
    /// Delivers `text` as UTF-8 bytes.
    @discardableResult
    func deliver(_ connection: ConnectionID, _ text: String) -> DispatchOutcome {
        deliver(connection, Array(text.utf8))
    }

    @discardableResult
    func deliver(_ connection: ConnectionID, _ bytes: [UInt8]) -> DispatchOutcome {
        deliverData(connection, bytes.span.bytes)
    }

    func deliverDatagram(
        _ bytes: UnsafeRawBufferPointer, address: String, family: AddressFamily, port: Int
    ) -> DispatchOutcome {
        deliverDatagram(RawSpan(_unsafeBytes: bytes), address: address, family: family, port: port)
    }
}

// Tests spell ids as numbers.
extension ConnectionID: ExpressibleByIntegerLiteral {
    package init(integerLiteral value: Int) { self.init(value) }
}

extension TimerID: ExpressibleByIntegerLiteral {
    package init(integerLiteral value: Int) { self.init(value) }
}

extension SharedStoreOwnerID: ExpressibleByIntegerLiteral {
    package init(integerLiteral value: Int) { self.init(value) }
}
