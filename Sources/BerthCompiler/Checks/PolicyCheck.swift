import BerthPlan

/// The limits that apply when neither `defaults` nor a selector sets a key.
enum BuiltinDefaults {
    static let allow = [IPPrefix(family: .ipv4, address: 0, length: 0), IPPrefix(family: .ipv6, address: 0, length: 0)]
    static let maxConnections = 1024
    static let maxConnectionsPerSource = 64
    static let connectionRate = Rate(count: 50, seconds: 1)
    static let datagramRate = Rate(count: 1000, seconds: 1)
    static let idleTimeoutMilliseconds = 300_000
    static let maxBufferedBytes = 1_048_576
    static let sourcePrefix = SourcePrefix(ipv4: 32, ipv6: 64)

    /// Unless set, a bucket holds two seconds' worth of the rate (at least one).
    static func burst(for rate: Rate) -> Int { max(1, 2 * ((rate.count + rate.seconds - 1) / rate.seconds)) }
}

extension Compilation {
    /// Resolves each live entry's policy and limits key by key (most specific layer wins), then checks the result:
    /// an empty allow list, deny entries that never bite, allow entries a deny hides, caps that cannot bind.
    mutating func resolvePolicies() {
        // Keyed by where an allow or deny entry was written: did it matter for at least one endpoint it applies to?
        var denyUsed: [SourceLocation: (prefix: IPPrefix, used: Bool)] = [:]
        var allowVisible: [SourceLocation: (prefix: IPPrefix, visible: Bool)] = [:]

        for index in liveIndices {
            guard let parsed = candidates[index].parsed else { continue }
            let layers = layers(for: parsed, file: candidates[index].fileName)
            let layerErrors = layers.flatMap(\.errors)
            if !layerErrors.isEmpty {
                candidates[index].refusals += layerErrors
                continue
            }
            func pick<T>(_ key: KeyPath<PolicyDraft, Located<T>?>) -> Located<T>? { layers.compactMap { $0[keyPath: key] }.last }

            let allowEntries = pick(\.allow)
            let denyEntries = pick(\.deny)
            let allow = PrefixSet(allowEntries.map { $0.value.map(\.value) } ?? BuiltinDefaults.allow)
            let deny = PrefixSet(denyEntries?.value.map(\.value) ?? [])
            candidates[index].policy = Policy(allow: allow, deny: deny)

            if let allowEntries, allowEntries.value.isEmpty {
                report(Diagnostic(.manifestAllowEmpty, .warning, at: allowEntries.location,
                    "\"allow\" is empty, so no source may connect to \(candidates[index].fileName)",
                    hint: "list the prefixes that may connect, e.g. [\"10.0.0.0/8\"]; to stop serving, remove the file"))
            }
            for entry in denyEntries?.value ?? [] {
                let used = allow.intersects(entry.value)
                denyUsed[entry.location] = (entry.value, (denyUsed[entry.location]?.used ?? false) || used)
            }
            for entry in allowEntries?.value ?? [] {
                let visible = !deny.covers(entry.value)
                allowVisible[entry.location] = (entry.value, (allowVisible[entry.location]?.visible ?? false) || visible)
            }

            let connectionRate = pick(\.connectionRate)?.value ?? BuiltinDefaults.connectionRate
            let datagramRate = pick(\.datagramRate)?.value ?? BuiltinDefaults.datagramRate
            let maxConnections = pick(\.maxConnections)
            let maxPerSource = pick(\.maxConnectionsPerSource)
            let limits = Limits(
                maxConnections: maxConnections?.value ?? BuiltinDefaults.maxConnections,
                maxConnectionsPerSource: maxPerSource?.value ?? BuiltinDefaults.maxConnectionsPerSource,
                connectionRate: connectionRate,
                datagramRate: datagramRate,
                burst: pick(\.burst)?.value
                    ?? BuiltinDefaults.burst(for: parsed.transport == .tcp ? connectionRate : datagramRate),
                idleTimeoutMilliseconds: pick(\.idleTimeoutMilliseconds)?.value ?? BuiltinDefaults.idleTimeoutMilliseconds,
                maxBufferedBytes: pick(\.maxBufferedBytes)?.value ?? BuiltinDefaults.maxBufferedBytes,
                sourcePrefix: SourcePrefix(
                    ipv4: pick(\.sourcePrefixIPv4)?.value ?? BuiltinDefaults.sourcePrefix.ipv4,
                    ipv6: pick(\.sourcePrefixIPv6)?.value ?? BuiltinDefaults.sourcePrefix.ipv6))
            candidates[index].limits = limits
            if parsed.transport == .tcp, limits.maxConnectionsPerSource > limits.maxConnections,
                let at = maxPerSource?.location ?? maxConnections?.location
            {
                report(Diagnostic(.manifestLimitOrder, .warning, at: at,
                    "maxConnectionsPerSource (\(limits.maxConnectionsPerSource)) is above maxConnections (\(limits.maxConnections)) for \(candidates[index].fileName), so it can never apply",
                    hint: "set maxConnectionsPerSource at or below \(limits.maxConnections)"))
            }
            if parsed.transport == .tcp { candidates[index].tlsDraft = pick(\.tls)?.value }
        }

        for (location, entry) in denyUsed where !entry.used {
            report(Diagnostic(.manifestDenyUnused, .warning, at: location,
                "deny \(entry.prefix) covers no address that \"allow\" admits, so it has no effect",
                hint: "remove it, or fix the prefix if it was meant to cut into an allowed range"))
        }
        for (location, entry) in allowVisible where !entry.visible {
            report(Diagnostic(.manifestAllowShadowed, .warning, at: location,
                "allow \(entry.prefix) is entirely inside \"deny\", so no address it names can connect",
                hint: "remove it, or narrow the deny entry that covers it"))
        }
    }
}
