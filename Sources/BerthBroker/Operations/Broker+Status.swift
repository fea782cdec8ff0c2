import BerthPlan
import BerthRuntime
import BerthStore
import BerthTLS
import Foundation

/// What `/metrics`, `/healthz` and `/readyz` answer, read from the broker's own state at each request: nothing on
/// the connection or datagram path is done for them but the counters' additions.
extension Broker {
    func statusResponse(_ path: String) -> StatusServer.Response? {
        switch path {
        case "/metrics":
            return StatusServer.Response(status: 200, reason: "OK", contentType: MetricsText.contentType,
                                         body: metricsText())
        case "/healthz":
            // Answered by the loop itself: an answer means the loop turns.
            return StatusServer.Response(status: 200, reason: "OK", body: "ok\n")
        case "/readyz":
            let problems = readinessProblems()
            return problems.isEmpty
                ? StatusServer.Response(status: 200, reason: "OK", body: "ready\n")
                : StatusServer.Response(status: 503, reason: "Service Unavailable",
                                        body: problems.map { "not ready: \($0)\n" }.joined())
        default:
            return nil
        }
    }

    /// Why the broker is not ready, one reason a line; empty when every endpoint of the plan serves and no reload
    /// or shutdown is under way.
    func readinessProblems() -> [String] {
        if isShuttingDown { return ["shutting down"] }
        var problems: [String] = []
        if !hasStarted {
            problems.append("starting: open(ctx) has not finished for every endpoint")
        } else if compiling != nil || reload != nil {
            problems.append("reload \(reloadCount) in progress")
        }
        for endpoint in plan.endpoints.sorted(by: { $0.claim < $1.claim }) {
            guard let claim = claims[endpoint.claim], claim.isAccepting, claim.serving != nil else {
                problems.append("\(endpoint.claim) (\(PrintableText.escaped(endpoint.file))) is not serving")
                continue
            }
        }
        return problems
    }

    /// The exposition: per endpoint (`endpoint`, `handler` labels; never a source address, so the series are bounded
    /// by the endpoints and reasons), then the store, reloads, readiness and the process.
    func metricsText() -> String {
        var text = MetricsText()
        // A removed endpoint's claim may still drain beside a new claim of the same port: one series, summed.
        let byKey = Dictionary(grouping: claims.values.map { $0 } + retiredClaims) { $0.endpoint.claim }
        let groups = byKey.keys.sorted().map { key in
            (labels: [("endpoint", key), ("handler", (claims[key] ?? byKey[key]![0]).endpoint.name)], claims: byKey[key]!)
        }
        let tcp = groups.filter { $0.claims[0].endpoint.transport == .tcp }
        let udp = groups.filter { $0.claims[0].endpoint.transport == .udp }
        let tls = tcp.filter { $0.claims.contains { $0.endpoint.tls != nil } }
        func sum(_ claims: [PortClaim], _ value: (PortClaim) -> Int) -> Int { claims.reduce(0) { $0 + value($1) } }
        func refusals(_ name: String, _ reasons: [ConnectionScreen.Reason], of groups: [(labels: [(String, String)], claims: [PortClaim])],
                      label: (ConnectionScreen.Reason) -> String = { $0.rawValue }) {
            for group in groups {
                for reason in reasons {
                    text.sample(name, group.labels + [("reason", label(reason))],
                                sum(group.claims) { $0.screen.refusals[reason, default: 0] })
                }
            }
        }

        text.family("berth_connections_accepted_total", .counter, "TCP connections the screen admitted.")
        for group in tcp { text.sample("berth_connections_accepted_total", group.labels, sum(group.claims) { $0.meters.connectionsAccepted }) }
        text.family("berth_connections_refused_total", .counter, "TCP connections refused before any handler ran, by reason.")
        refusals("berth_connections_refused_total", ConnectionScreen.Reason.connectionRefusals, of: tcp)
        text.family("berth_connections_open", .gauge, "TCP connections open (TLS handshakes included).")
        for group in tcp { text.sample("berth_connections_open", group.labels, sum(group.claims) { $0.screen.openConnections }) }
        text.family("berth_connections_closed_by_broker_total", .counter,
                    "Admitted TCP connections the broker closed: idle too long, or a consumer too slow.")
        refusals("berth_connections_closed_by_broker_total", [.idleTimeout, .slowConsumer], of: tcp)
        text.family("berth_datagrams_accepted_total", .counter, "UDP datagrams the screen admitted.")
        for group in udp { text.sample("berth_datagrams_accepted_total", group.labels, sum(group.claims) { $0.meters.datagramsAccepted }) }
        text.family("berth_datagrams_refused_total", .counter, "UDP datagrams dropped before any handler ran, by reason.")
        refusals("berth_datagrams_refused_total", [.deny, .notAllowed, .datagramRate], of: udp)
        text.family("berth_received_bytes_total", .counter, "Bytes received: TCP (TLS records included) and UDP payloads.")
        for group in groups { text.sample("berth_received_bytes_total", group.labels, sum(group.claims) { $0.receivedBytes }) }
        text.family("berth_sent_bytes_total", .counter, "Bytes sent: TCP (TLS records included) and UDP payloads.")
        for group in groups { text.sample("berth_sent_bytes_total", group.labels, sum(group.claims) { $0.sentBytes }) }

        text.family("berth_handler_faults_total", .counter,
                    "Handler faults by kind: an uncaught exception, an unhandled rejection, the CPU budget, the heap limit.")
        for group in groups {
            for kind in HandlerMeters.FaultKind.allCases {
                text.sample("berth_handler_faults_total", group.labels + [("kind", kind.rawValue)],
                            sum(group.claims) { $0.meters.handler.faults(of: kind) })
            }
        }
        text.family("berth_dispatch_seconds", .histogram,
                    "Time one dispatch into a handler took (a callback with its microtasks), in seconds.")
        for group in groups {
            let histograms = group.claims.compactMap(\.meters.handler.dispatchTimes)
            guard !histograms.isEmpty else { continue }
            let counts = histograms.dropFirst().reduce(histograms[0].counts) { zip($0, $1.counts).map { $0 + $1 } }
            let sum = Double(histograms.reduce(UInt64(0)) { $0 &+ $1.sumNanoseconds }) / 1e9
            text.histogram("berth_dispatch_seconds", group.labels, bounds: DurationHistogram.bounds, counts: counts,
                           sum: sum)
        }

        if !tls.isEmpty {
            text.family("berth_tls_handshakes_total", .counter, "TLS handshakes completed.")
            for group in tls { text.sample("berth_tls_handshakes_total", group.labels, sum(group.claims) { $0.meters.tlsHandshakes }) }
            text.family("berth_tls_handshake_failures_total", .counter, "TLS handshakes that failed, by reason.")
            refusals("berth_tls_handshake_failures_total", ConnectionScreen.Reason.tlsFailures, of: tls) {
                String($0.rawValue.dropFirst("tls-".count))
            }
            text.family("berth_tls_certificate_expiry_timestamp_seconds", .gauge,
                        "When each certificate new handshakes use stops being valid (Unix time).")
            let parser = ISO8601DateFormatter()
            for group in tls {
                guard let claim = claims[group.labels[0].1], let settings = claim.tls?.settings else { continue }
                for certificate in settings.certificates {
                    guard let date = parser.date(from: certificate.notAfter) else { continue }
                    text.sample("berth_tls_certificate_expiry_timestamp_seconds",
                                group.labels + [("certificate", certificate.certificate)], date.timeIntervalSince1970)
                }
            }
        }

        if let statistics = store?.statistics {
            text.family("berth_shared_keys", .gauge, "Keys in ctx.shared.")
            text.sample("berth_shared_keys", statistics.keys)
            text.family("berth_shared_bytes", .gauge, "Bytes ctx.shared's entries take (keys, values, bookkeeping).")
            text.sample("berth_shared_bytes", statistics.bytes)
            text.family("berth_shared_max_bytes", .gauge, "The bound on berth_shared_bytes (--store-max-bytes).")
            text.sample("berth_shared_max_bytes", statistics.maxBytes)
            text.family("berth_shared_subscriptions", .gauge, "ctx.shared subscriptions.")
            text.sample("berth_shared_subscriptions", statistics.subscriptions)
            text.family("berth_shared_pending_deliveries", .gauge, "ctx.shared deliveries queued and not yet run.")
            text.sample("berth_shared_pending_deliveries", statistics.pendingDeliveries)
        }

        text.family("berth_reloads_total", .counter,
                    "Reloads by outcome: applied, applied with some endpoints kept at their last good version, rejected.")
        for outcome in ReloadOutcome.allCases {
            text.sample("berth_reloads_total", [("outcome", outcome.rawValue)], reloadOutcomes[outcome, default: 0])
        }
        text.family("berth_handler_runtimes", .gauge, "Handler runtimes alive, generations still draining included.")
        text.sample("berth_handler_runtimes", runtimeCount)
        let serving = plan.endpoints.filter { claims[$0.claim]?.serving != nil }.count
        text.family("berth_endpoints", .gauge, "Endpoints of the plan, serving or not.")
        text.sample("berth_endpoints", [("state", "serving")], serving)
        text.sample("berth_endpoints", [("state", "not-serving")], plan.endpoints.count - serving)
        text.family("berth_ready", .gauge, "1 when /readyz answers ready.")
        text.sample("berth_ready", readinessProblems().isEmpty ? 1 : 0)

        text.family("berth_resident_memory_bytes", .gauge, "The broker's resident memory.")
        text.sample("berth_resident_memory_bytes", System.residentBytes ?? 0)
        text.family("berth_open_fds", .gauge, "File descriptors the broker has open.")
        text.sample("berth_open_fds", System.openDescriptors ?? 0)
        text.family("berth_max_fds", .gauge, "The broker's descriptor limit (RLIMIT_NOFILE).")
        text.sample("berth_max_fds", System.fileLimit ?? 0)
        text.family("berth_cpu_seconds_total", .counter, "CPU time the broker used, user and system.")
        text.sample("berth_cpu_seconds_total", System.cpuSeconds)
        text.family("berth_start_time_seconds", .gauge, "When the broker started (Unix time).")
        text.sample("berth_start_time_seconds", startTime.timeIntervalSince1970.rounded())
        text.family("berth_build_info", .gauge, "berth's version, as a label; always 1.")
        text.sample("berth_build_info", [("version", plan.berthVersion)], 1)
        return text.text
    }
}

/// How a reload ended, as `berth_reloads_total` counts it.
enum ReloadOutcome: String, CaseIterable {
    case applied
    case keptLastGood = "kept-last-good"
    case rejected
}

extension ConnectionScreen.Reason {
    /// Refusals of a TCP connection before it reached a handler.
    static let connectionRefusals: [Self] = [.deny, .notAllowed, .maxConnections, .maxConnectionsPerSource,
                                             .connectionRate, .resetBeforeAccept, .descriptorLimit, .acceptFailed]
    static let tlsFailures: [Self] = [.tlsPlaintext, .tlsTimeout, .tlsUnknownName, .tlsClientCertificate, .tlsALPN,
                                      .tlsVersion, .tlsAborted, .tlsHandshake]
}
