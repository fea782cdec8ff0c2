import BerthRuntime

/// What one claim counts for `/metrics`, beside its screen's refusals and open connections. It lives as long as the
/// claim, so a reload resets nothing; each count is one addition on a path that already does far more.
final class ClaimMeters {
    var connectionsAccepted = 0
    var datagramsAccepted = 0
    /// Bytes of the connections already closed, and of datagrams: a scrape adds the open connections' own.
    var receivedBytes = 0
    var sentBytes = 0
    var tlsHandshakes = 0
    /// Faults and dispatch times, counted by the generations' runtimes.
    let handler: HandlerMeters

    init(timesDispatches: Bool) {
        handler = HandlerMeters(timesDispatches: timesDispatches)
    }
}
