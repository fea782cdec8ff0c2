package import BerthPlan

/// The one place a connection or datagram is judged before any handler sees it. Today: the endpoint's deny and
/// allow prefixes (deny first); caps and rates slot in here, fed by the same plan.
package struct ConnectionScreen: Sendable {
    package enum Verdict: Equatable, Sendable {
        case admit
        case refuse(reason: String)
    }

    private let policy: Policy

    package init(endpoint: Endpoint) { policy = endpoint.policy }

    /// `address` as the socket reported it; IPv4-mapped IPv6 sources are judged by their IPv4 rules.
    package func screen(_ address: IPAddress) -> Verdict {
        if policy.deny.contains(address) { return .refuse(reason: "deny") }
        if !policy.allow.contains(address) { return .refuse(reason: "not-allowed") }
        return .admit
    }
}
