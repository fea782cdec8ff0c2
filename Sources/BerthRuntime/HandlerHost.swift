import BerthJS
/// Severity of a line a handler runtime logs: console.debug/trace are `.debug`, console.log/info/dir `.info`,
/// console.warn `.warn`, console.error/assert and every fault `.error`.
package enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warn, error

    package static func < (left: Self, right: Self) -> Bool { left.rawValue < right.rawValue }
}

/// The broker's number for one TCP connection; unique among the open connections of one runtime, and reusable once
/// the runtime got `deliverClose` for it.
package struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    package var rawValue: Int
    package init(_ rawValue: Int) { self.rawValue = rawValue }
    package var description: String { String(rawValue) }
    /// Hashes as the Int it wraps does, by Int's one-word fast path: dictionaries keyed by it sit on the per-message
    /// path, where the generic Hasher walk measured 100 instructions more per round trip.
    package func _rawHashValue(seed: Int) -> Int { rawValue._rawHashValue(seed: seed) }
}

/// The runtime's number for one host timer (a setTimeout, setInterval or internal timer, or an immediate).
package struct TimerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var rawValue: Int
    package init(_ rawValue: Int) { self.rawValue = rawValue }
    package var description: String { String(rawValue) }
    /// Hashes as the Int it wraps does (see ConnectionID).
    package func _rawHashValue(seed: Int) -> Int { rawValue._rawHashValue(seed: seed) }
    package static func < (left: Self, right: Self) -> Bool { left.rawValue < right.rawValue }
}

/// An address family, spelled as Node spells it in `conn.remoteFamily` and `rinfo.family`.
package enum AddressFamily: String, Sendable {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"
}

/// Both ends of an accepted connection: they become `conn.remoteAddress`, `remotePort`, `remoteFamily`,
/// `localAddress` and `localPort`.
package struct ConnectionInfo: Hashable, Sendable {
    package var remoteAddress: String
    package var remotePort: Int
    package var remoteFamily: AddressFamily
    package var localAddress: String
    package var localPort: Int

    package init(
        remoteAddress: String, remotePort: Int, remoteFamily: AddressFamily, localAddress: String, localPort: Int
    ) {
        (self.remoteAddress, self.remotePort, self.remoteFamily) = (remoteAddress, remotePort, remoteFamily)
        (self.localAddress, self.localPort) = (localAddress, localPort)
    }
}

/// What one call into a handler came to. A fault was already logged through `HandlerHost.log`; the string repeats it.
package enum DispatchOutcome: Hashable, Sendable {
    case ok
    case faulted(String)
}

/// Why a handler module cannot start: its files do not load, evaluating it threw, or it lacks its entry export.
package struct HandlerLoadError: Error, Hashable, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// The broker's side of a handler runtime: logging, the clock, timers and the native sockets. The runtime calls these
/// on its own thread while JavaScript runs, so an implementation must not call back into the runtime; it reports
/// what happens later through the runtime's `deliver…` and `fireTimer` methods.
package protocol HandlerHost: AnyObject {
    /// One line for the log, from console.* or a fault; faults name the handler and carry the JS stack.
    func log(_ level: LogLevel, _ message: String)

    /// A monotonic clock in milliseconds (performance.now and socket timeouts read it).
    func monotonicMilliseconds() -> Double

    /// Starts (or restarts, for an `id` already scheduled) a one-shot timer of at least 1 ms; when it expires the
    /// broker calls `fireTimer(id:)`. Ids are the runtime's own. A timer started while timers fire is therefore never
    /// due in the same pass (libuv reruns a 0 ms timer started in its timers phase at once, forever).
    func scheduleTimer(id: TimerID, afterMilliseconds: Double)

    /// The runtime has immediates (setImmediate) queued: call `runImmediates()` once, on the loop's next iteration
    /// after polling for I/O (libuv's check phase). The runtime asks again while any are left.
    func requestImmediates()

    /// Stops a timer scheduled and not yet fired.
    func cancelTimer(id: TimerID)

    /// Writes `bytes` to the connection, in order after everything written before, and returns how many leading bytes
    /// it sent during the call (none while earlier bytes of the connection are still queued). `bytes` are the
    /// handler's own memory, lent for the call: the host keeps a copy of the rest (or its ciphertext, or sends it to
    /// another process) and reports it with `deliverWritten` once sent.
    func write(connection: ConnectionID, bytes: RawSpan) -> Int

    /// Half-closes the connection once everything written has been sent (shutdown of the sending side).
    func end(connection: ConnectionID)

    /// Closes the connection now, dropping unsent bytes, then delivers its close; repeated calls are harmless.
    func destroy(connection: ConnectionID)

    /// Stops reading from the connection (so TCP holds the peer back) until `resume`.
    func pause(connection: ConnectionID)

    func resume(connection: ConnectionID)

    func setNoDelay(connection: ConnectionID, _ isEnabled: Bool)

    /// TCP keep-alive, the first probe after `initialDelayMilliseconds` of idleness (0: the system's default).
    func setKeepAlive(connection: ConnectionID, _ isEnabled: Bool, initialDelayMilliseconds: Int)

    /// Sends one datagram from the UDP handler's bound socket (`ctx.reply`); like `write`, it copies what it keeps.
    func send(datagram: RawSpan, to address: String, port: Int)
}
