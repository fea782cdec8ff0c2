package import BerthPlan

/// The one place a connection or datagram is judged before any handler sees it: deny and allow prefixes, the
/// handler's connection cap, and per-source connection caps and rates, all from the plan. Its counters live outside
/// the handler runtime, so a reload can swap the handler without resetting them.
package final class ConnectionScreen {
    /// Why something was refused, or an admitted connection closed by the broker; counted per endpoint.
    package enum Reason: String, Sendable, CaseIterable {
        case deny, notAllowed = "not-allowed", maxConnections, maxConnectionsPerSource, connectionRate, datagramRate
        /// No bytes either way for `idleTimeout`.
        case idleTimeout
        /// More than `maxBufferedBytes` waiting for a peer that does not read.
        case slowConsumer
        /// Reset by its peer while it waited to be accepted (ENOTCONN, ECONNABORTED, ECONNRESET).
        case resetBeforeAccept = "reset-before-accept"
        /// Reset by the broker because the process was out of descriptors (EMFILE, ENFILE).
        case descriptorLimit = "descriptor-limit"
        /// Accepting failed for another reason.
        case acceptFailed = "accept-failed"
        /// A TLS handshake failed (`TLSHandshakeFailure`, whose names these share).
        case tlsPlaintext = "tls-plaintext", tlsTimeout = "tls-timeout", tlsUnknownName = "tls-unknown-name"
        case tlsClientCertificate = "tls-client-certificate", tlsALPN = "tls-alpn", tlsVersion = "tls-version"
        case tlsAborted = "tls-aborted", tlsHandshake = "tls-handshake"
    }

    package enum Verdict: Equatable, Sendable {
        case admit
        case refuse(Reason)
    }

    private struct SourceState {
        var bucket: TokenBucket
        var connections = 0
    }

    /// The prefix lists, in a class of their own that a reload replaces: its methods read them as `let`s of `self`,
    /// in place, where reading a `var` of the screen retains every array inside for the call (about 230 instructions
    /// per datagram).
    private final class Prefixes {
        let policy: Policy
        init(_ policy: Policy) { self.policy = policy }

        func refusal(of address: IPAddress) -> Reason? {
            if policy.deny.contains(address) { return .deny }
            if !policy.allow.contains(address) { return .notAllowed }
            return nil
        }
    }

    // Read per connection and datagram, written only by `update` (a reload), never across a call.
    @exclusivity(unchecked) private var prefixes: Prefixes
    @exclusivity(unchecked) private var limits: Limits
    private var sources: SourceTable<SourceState>
    package private(set) var openConnections = 0
    /// Every refusal since the claim was made (the metrics' counters); reloads carry it over.
    package private(set) var refusals: [Reason: Int] = [:]
    /// `refusals` as the last summary line saw them.
    private var summarized: [Reason: Int] = [:]

    /// `sourceCapacity` bounds the per-source table (least recently used sources are forgotten first).
    package init(endpoint: Endpoint, sourceCapacity: Int = 65_536) {
        prefixes = Prefixes(endpoint.policy)
        limits = endpoint.limits
        sources = SourceTable(capacity: sourceCapacity)
    }

    package var trackedSources: Int { sources.count }

    /// Screens new connections and datagrams by `endpoint`'s policy and limits from now on (a reload changed the
    /// manifest): open connections, counters and per-source state carry over, unless the source prefix changed, which
    /// regroups sources (`grouping` moves on; their state starts afresh, and connections admitted before free only
    /// their slot in the total).
    package func update(to endpoint: Endpoint) {
        if endpoint.limits.sourcePrefix != limits.sourcePrefix {
            sources = SourceTable(capacity: sources.capacity)
            grouping += 1
        }
        (prefixes, limits) = (Prefixes(endpoint.policy), endpoint.limits)
    }

    /// How sources are grouped now: 0 until a reload changes the source prefix. A connection's close passes the
    /// grouping it was admitted under.
    package private(set) var grouping = 0

    /// Judges a new TCP connection at `now` (ms); an admitted one holds a slot until `connectionClosed(from:)`.
    package func admitConnection(from address: IPAddress, now: UInt64) -> Verdict {
        if let refusal = screenPrefixes(address) { return refuse(refusal) }
        let limits = self.limits  // the closures below capture a local, not the screen's `var`
        guard openConnections < limits.maxConnections else { return refuse(.maxConnections) }
        let key = SourceTable<SourceState>.key(for: address, prefix: limits.sourcePrefix)
        let verdict: Verdict = sources.withState(key, now: now, make: { SourceState(bucket: TokenBucket(burst: limits.burst, now: now)) }) { state in
            guard state.connections < limits.maxConnectionsPerSource else { return .refuse(.maxConnectionsPerSource) }
            guard state.bucket.take(now: now, rate: limits.connectionRate, burst: limits.burst) else {
                return .refuse(.connectionRate)
            }
            state.connections += 1
            return .admit
        }
        guard case .admit = verdict else { return count(verdict) }
        openConnections += 1
        return .admit
    }

    /// Frees the slots an admitted connection held; one admitted under an earlier `grouping` holds none per source now.
    package func connectionClosed(from address: IPAddress, grouping: Int = 0) {
        openConnections -= 1
        guard grouping == self.grouping else { return }
        sources.ifPresent(SourceTable<SourceState>.key(for: address, prefix: limits.sourcePrefix)) { state in
            state.connections = max(0, state.connections - 1)
        }
    }

    /// Judges one datagram at `now` (ms).
    package func admitDatagram(from address: IPAddress, now: UInt64) -> Verdict {
        if let refusal = screenPrefixes(address) { return refuse(refusal) }
        let limits = self.limits  // the closures below capture a local, not the screen's `var`
        let key = SourceTable<SourceState>.key(for: address, prefix: limits.sourcePrefix)
        let admitted = sources.withState(key, now: now, make: { SourceState(bucket: TokenBucket(burst: limits.burst, now: now)) }) {
            $0.bucket.take(now: now, rate: limits.datagramRate, burst: limits.burst)
        }
        return admitted ? .admit : refuse(.datagramRate)
    }

    /// Forgets sources with no open connection that have been quiet long enough for their bucket to be full again
    /// (at least `minimumIdle` ms): they would start afresh anyway, so nothing is lost but memory.
    package func expireIdleSources(now: UInt64, minimumIdle: UInt64 = 60_000) {
        let rate = limits.connectionRate.perSecond < limits.datagramRate.perSecond ? limits.connectionRate : limits.datagramRate
        let refill = UInt64((Double(limits.burst) / max(rate.perSecond, 0.001)) * 1000)
        sources.removeExpired(now: now, idle: max(minimumIdle, refill)) { $0.connections == 0 }
    }

    /// The refusal counts since the last call; empty when nothing was refused.
    package func takeRefusals() -> [Reason: Int] {
        var fresh: [Reason: Int] = [:]
        for (reason, total) in refusals where total != summarized[reason, default: 0] {
            fresh[reason] = total - summarized[reason, default: 0]
        }
        summarized = refusals
        return fresh
    }

    private func screenPrefixes(_ address: IPAddress) -> Reason? {
        prefixes.refusal(of: address)
    }

    /// Counts a connection the broker closed after admitting it (idle, slow consumer).
    package func record(_ reason: Reason, count: Int = 1) { refusals[reason, default: 0] += count }

    private func refuse(_ reason: Reason) -> Verdict { count(.refuse(reason)) }

    private func count(_ verdict: Verdict) -> Verdict {
        if case .refuse(let reason) = verdict { refusals[reason, default: 0] += 1 }
        return verdict
    }
}
