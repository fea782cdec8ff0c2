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
/// `localAddress` and `localPort`; `tls` when the broker terminated TLS on it.
package struct ConnectionInfo: Hashable, Sendable {
    package var remoteAddress: String
    package var remotePort: Int
    package var remoteFamily: AddressFamily
    package var localAddress: String
    package var localPort: Int
    package var tls: TLSConnectionInfo?

    package init(
        remoteAddress: String, remotePort: Int, remoteFamily: AddressFamily, localAddress: String, localPort: Int,
        tls: TLSConnectionInfo? = nil
    ) {
        (self.remoteAddress, self.remotePort, self.remoteFamily) = (remoteAddress, remotePort, remoteFamily)
        (self.localAddress, self.localPort, self.tls) = (localAddress, localPort, tls)
    }
}

/// What a finished TLS handshake agreed, for the properties a Node `tls.TLSSocket` has: `conn.encrypted`,
/// `servername`, `alpnProtocol`, `getProtocol()`, `getCipher()`, `getPeerCertificate()`, `authorized`,
/// `authorizationError`.
package struct TLSConnectionInfo: Hashable, Sendable {
    /// The SNI name the client sent; nil when it sent none (`conn.servername` is then false, as in Node).
    package var serverName: String?
    /// The ALPN protocol agreed; nil when none was (`conn.alpnProtocol` is then false).
    package var alpnProtocol: String?
    /// "TLSv1.2" or "TLSv1.3", as `getProtocol()` returns it.
    package var protocolVersion: String
    /// `getCipher()`: OpenSSL's name ("TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"), the IETF name, and
    /// the version that introduced the cipher ("TLSv1.3", "TLSv1/SSLv3").
    package var cipherName: String
    package var cipherStandardName: String
    package var cipherVersion: String
    /// The client's certificate verified against the endpoint's client CA (`conn.authorized`).
    package var authorized: Bool
    /// Why it did not (an OpenSSL verify code as Node names it: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    /// "CERT_HAS_EXPIRED", or "NO_PEER_CERTIFICATE" when the client sent none); nil when authorized.
    package var authorizationError: String?
    /// The client's certificate; nil when it sent none (`getPeerCertificate()` returns `{}` then).
    package var peerCertificate: PeerCertificate?

    package init(
        serverName: String?, alpnProtocol: String?, protocolVersion: String, cipherName: String,
        cipherStandardName: String, cipherVersion: String, authorized: Bool, authorizationError: String?,
        peerCertificate: PeerCertificate?
    ) {
        (self.serverName, self.alpnProtocol, self.protocolVersion) = (serverName, alpnProtocol, protocolVersion)
        (self.cipherName, self.cipherStandardName, self.cipherVersion) = (cipherName, cipherStandardName, cipherVersion)
        (self.authorized, self.authorizationError, self.peerCertificate) =
            (authorized, authorizationError, peerCertificate)
    }
}

/// A peer certificate in the shape of Node's `getPeerCertificate()` (the fields a handler decides on).
package struct PeerCertificate: Hashable, Sendable {
    /// Name attributes in certificate order, as Node keys them: ("C", "DE"), ("O", "Example"), ("CN", "alice").
    package var subject: [(String, String)]
    package var issuer: [(String, String)]
    /// "DNS:alice.example, IP Address:127.0.0.1", as Node prints it; nil without the extension.
    package var subjectAltName: String?
    /// "Mar  5 12:00:00 2026 GMT", as OpenSSL prints an ASN.1 time (Node's `valid_from` / `valid_to`).
    package var validFrom: String
    package var validTo: String
    /// Uppercase hex, no separators (Node's `serialNumber`).
    package var serialNumber: String
    /// Uppercase hex pairs joined by colons, of the DER encoding (Node's `fingerprint`, `fingerprint256`).
    package var fingerprint: String
    package var fingerprint256: String
    /// The DER encoding (Node's `raw`, a Buffer).
    package var raw: [UInt8]

    package init(
        subject: [(String, String)], issuer: [(String, String)], subjectAltName: String?, validFrom: String,
        validTo: String, serialNumber: String, fingerprint: String, fingerprint256: String, raw: [UInt8]
    ) {
        (self.subject, self.issuer, self.subjectAltName) = (subject, issuer, subjectAltName)
        (self.validFrom, self.validTo, self.serialNumber) = (validFrom, validTo, serialNumber)
        (self.fingerprint, self.fingerprint256, self.raw) = (fingerprint, fingerprint256, raw)
    }

    package static func == (left: Self, right: Self) -> Bool { left.raw == right.raw }
    package func hash(into hasher: inout Hasher) { hasher.combine(raw) }
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
