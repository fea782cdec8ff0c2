package import BerthPlan

/// A token bucket: `burst` tokens, refilled at `rate`; each admitted event takes one. Time is a parameter (ms).
package struct TokenBucket: Sendable {
    private var tokens: Double
    private var updated: UInt64

    package init(burst: Int, now: UInt64) {
        tokens = Double(burst)
        updated = now
    }

    /// Takes one token if there is one.
    package mutating func take(now: UInt64, rate: Rate, burst: Int) -> Bool {
        if now > updated {
            tokens = min(Double(burst), tokens + Double(now - updated) * rate.perSecond / 1000)
            updated = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
