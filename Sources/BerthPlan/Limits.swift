/// A rate written `COUNT/UNIT` (`50/s`, `600/m`, `10000/h`): at most `count` events per `seconds`.
package struct Rate: Hashable, Sendable, CustomStringConvertible {
    package var count: Int
    package var seconds: Int

    package init(count: Int, seconds: Int) { (self.count, self.seconds) = (count, seconds) }

    /// Accepted units: `s`, `m`, `h` (also `sec`, `min`, `hour`).
    package static func parse(_ text: String) -> Rate? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
            let count = Int(parts[0])
        else { return nil }
        let seconds: Int
        switch parts[1] {
        case "s", "sec", "second": seconds = 1
        case "m", "min", "minute": seconds = 60
        case "h", "hour": seconds = 3600
        default: return nil
        }
        return Rate(count: count, seconds: seconds)
    }

    package var perSecond: Double { Double(count) / Double(seconds) }

    package var description: String {
        "\(count)/" + (seconds == 1 ? "s" : seconds == 60 ? "m" : "h")
    }
}

/// A duration written `NUMBER` + `ms|s|m|h` (`250ms`, `30s`, `5m`, `1h`), held in milliseconds.
package enum DurationText {
    package static func parseMilliseconds(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        let unit = text.dropFirst(digits.count)
        let factor: Int
        switch unit {
        case "ms": factor = 1
        case "s": factor = 1000
        case "m": factor = 60_000
        case "h": factor = 3_600_000
        default: return nil
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }

    package static func format(milliseconds: Int) -> String {
        for (unit, factor) in [("h", 3_600_000), ("m", 60_000), ("s", 1000)] where milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(unit)"
        }
        return "\(milliseconds)ms"
    }
}

/// The source prefix lengths that "per source" limits count by: one bucket per IPv4 /32 and per IPv6 /64 by default.
package struct SourcePrefix: Hashable, Sendable {
    package var ipv4: Int
    package var ipv6: Int
    package init(ipv4: Int, ipv6: Int) { (self.ipv4, self.ipv6) = (ipv4, ipv6) }
}

/// Every limit of an endpoint after defaults and selectors are resolved.
package struct Limits: Hashable, Sendable {
    package var maxConnections: Int
    package var maxConnectionsPerSource: Int
    package var connectionRate: Rate
    package var datagramRate: Rate
    /// The bucket size of whichever rate applies to the endpoint's transport.
    package var burst: Int
    package var idleTimeoutMilliseconds: Int
    package var maxBufferedBytes: Int
    package var sourcePrefix: SourcePrefix

    package init(
        maxConnections: Int, maxConnectionsPerSource: Int, connectionRate: Rate, datagramRate: Rate, burst: Int,
        idleTimeoutMilliseconds: Int, maxBufferedBytes: Int, sourcePrefix: SourcePrefix
    ) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerSource = maxConnectionsPerSource
        self.connectionRate = connectionRate
        self.datagramRate = datagramRate
        self.burst = burst
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.maxBufferedBytes = maxBufferedBytes
        self.sourcePrefix = sourcePrefix
    }
}
