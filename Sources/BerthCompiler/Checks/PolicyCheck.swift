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
        // Every policy layer: 0 is `defaults`, 1 + i is selector i.
        let policies = [manifest.defaults] + manifest.selectors.map(\.policy)
        // Per layer and entry of its deny (allow) list: did the entry matter for at least one endpoint it applies to?
        // nil while the list applied to none. Flags by position, not dictionaries keyed by the entry's location
        // (which hashed a file name for each of 50,000 entries).
        var denyUsed = [[Bool]?](repeating: nil, count: policies.count)
        var allowVisible = [[Bool]?](repeating: nil, count: policies.count)
        // Keys are functions, not key paths: applying a key path copied the whole draft out of the array each time.
        typealias PrefixList = (PolicyDraft) -> Located<[Located<IPPrefix>]>?

        for index in liveIndices {
            guard let parsed = candidates[index].parsed else { continue }
            let layers = [0] + candidates[index].selectors.map { $0 + 1 }
            let layerErrors = layers.flatMap { policies[$0].errors }
            if !layerErrors.isEmpty {
                candidates[index].refusals += layerErrors
                continue
            }
            // The most specific layer that sets `key`.
            func layer<T>(setting key: (PolicyDraft) -> T?) -> Int? { layers.last { key(policies[$0]) != nil } }
            func pick<T>(_ key: (PolicyDraft) -> Located<T>?) -> Located<T>? {
                layer(setting: key).flatMap { key(policies[$0]) }
            }
            // Flags the entries of the list in effect that matter for this endpoint; a flag once set stays.
            func flag(_ flags: inout [[Bool]?], _ list: PrefixList, where matters: (IPPrefix) -> Bool) {
                guard let layer = layer(setting: list), let entries = list(policies[layer])?.value else { return }
                var marks = flags[layer] ?? Array(repeating: false, count: entries.count)
                for (position, entry) in entries.enumerated() where !marks[position] {
                    marks[position] = matters(entry.value)
                }
                flags[layer] = marks
            }

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
            flag(&denyUsed, \.deny) { allow.intersects($0) }
            flag(&allowVisible, \.allow) { !deny.covers($0) }

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

        // The entries of `list` whose flag stayed false, in layers that applied to some endpoint.
        func unflagged(_ flags: [[Bool]?], _ list: PrefixList) -> [Located<IPPrefix>] {
            flags.indices.flatMap { layer in
                zip(list(policies[layer])?.value ?? [], flags[layer] ?? []).filter { !$0.1 }.map(\.0)
            }
        }
        for entry in unflagged(denyUsed, \.deny) {
            report(Diagnostic(.manifestDenyUnused, .warning, at: entry.location,
                "deny \(entry.value) covers no address that \"allow\" admits, so it has no effect",
                hint: "remove it, or fix the prefix if it was meant to cut into an allowed range"))
        }
        for entry in unflagged(allowVisible, \.allow) {
            report(Diagnostic(.manifestAllowShadowed, .warning, at: entry.location,
                "allow \(entry.value) is entirely inside \"deny\", so no address it names can connect",
                hint: "remove it, or narrow the deny entry that covers it"))
        }
    }
}
