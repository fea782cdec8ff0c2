import BerthPlan

/// A ruleset as one JSON document, the form in which berth keeps the ruleset a note vouches for (`VerifiedTable`):
/// with it, a plan whose folder changed since the last apply still diffs against berth's table without listing it.
extension Ruleset {
    package var record: [UInt8] {
        JSONWriter.compactUTF8([
            "table": .string(target.tableName),
            "hostChain": .optional(target.hostChain?.description),
            "endpoints": .array(endpoints.map(\.record)),
        ])
    }

    /// Reads `record` back; nil for anything else, and the caller lists the table instead.
    package init?(record bytes: [UInt8]) {
        guard let document = try? JSONParser.parse(bytes).plainValue, let table = document["table"]?.stringValue,
            let records = document["endpoints"]?.arrayValue
        else { return nil }
        var hostChain: HostChain?
        if let text = document["hostChain"]?.stringValue {
            guard let parsed = try? HostChain(parsing: text) else { return nil }
            hostChain = parsed
        }
        var endpoints: [FirewallEndpoint] = []
        for record in records {
            guard let endpoint = FirewallEndpoint(record: record) else { return nil }
            endpoints.append(endpoint)
        }
        self.init(endpoints: endpoints, target: FirewallTarget(tableName: table, hostChain: hostChain))
    }
}

extension FirewallEndpoint {
    fileprivate var record: JSONValue {
        [
            "name": .string(name), "file": .string(file), "transport": .string(transport.rawValue), "port": .int(port),
            "allow": .array(allow.prefixes.map { .string($0.description) }),
            "deny": .array(deny.prefixes.map { .string($0.description) }),
            "rate": [.int(limits.rate.count), .int(limits.rate.seconds)], "burst": .int(limits.burst),
            "maxConnections": limits.maxConnections.map(JSONValue.int) ?? .null,
            "maxConnectionsPerSource": limits.maxConnectionsPerSource.map(JSONValue.int) ?? .null,
            "sourcePrefix": [.int(limits.sourcePrefix.ipv4), .int(limits.sourcePrefix.ipv6)],
        ]
    }

    fileprivate init?(record: JSONValue) {
        func prefixes(_ key: String) -> PrefixSet? {
            var parsed: [IPPrefix] = []
            for text in record[key]?.arrayValue ?? [] {
                guard let text = text.stringValue, case .success(let prefix) = IPPrefix.parse(text) else { return nil }
                parsed.append(prefix)
            }
            return PrefixSet(parsed)
        }
        func optionalInt(_ key: String) -> Int?? {
            switch record[key] {
            case .null?: .some(nil)
            case .int(let value)?: .some(value)
            default: nil
            }
        }
        guard let name = record["name"]?.stringValue, let file = record["file"]?.stringValue,
            let transport = record["transport"]?.stringValue.flatMap(Transport.init(rawValue:)),
            let port = record["port"]?.intValue, let allow = prefixes("allow"), let deny = prefixes("deny"),
            let rate = record["rate"]?.arrayValue, rate.count == 2, let count = rate[0].intValue,
            let seconds = rate[1].intValue, let burst = record["burst"]?.intValue,
            let maxConnections = optionalInt("maxConnections"), let perSource = optionalInt("maxConnectionsPerSource"),
            let bucket = record["sourcePrefix"]?.arrayValue, bucket.count == 2, let ipv4 = bucket[0].intValue,
            let ipv6 = bucket[1].intValue
        else { return nil }
        self.init(name: name, file: file, transport: transport, port: port, allow: allow, deny: deny,
                  limits: KernelLimits(rate: Rate(count: count, seconds: seconds), burst: burst,
                                       maxConnections: maxConnections, maxConnectionsPerSource: perSource,
                                       sourcePrefix: SourcePrefix(ipv4: ipv4, ipv6: ipv6)))
    }
}
