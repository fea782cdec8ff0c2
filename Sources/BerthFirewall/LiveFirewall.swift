import BerthPlan

/// An endpoint read back from berth's live table, with the rules found in its chain.
package struct LiveEndpoint: Hashable, Sendable {
    /// The endpoint as the live sets and rules describe it (name and file from the comments berth wrote).
    package var endpoint: FirewallEndpoint
    /// The chain's rules in order, as recognised.
    var rules: [RuleStatement]
    /// Sets of this endpoint found in the table, by name.
    var setNames: Set<String>
    /// Elements berth never writes (ranges that are not one prefix), found in this endpoint's sets.
    var strayElements: [String]

    /// What differs from what berth would have written for `endpoint`: rules changed, missing or added by hand.
    var drift: [String] {
        var lines: [String] = []
        let expected = endpoint.rules
        if rules != expected {
            for rule in rules where !expected.contains(rule) {
                lines.append("rule changed or added by hand: \(rule.text(in: endpoint))")
            }
            for rule in expected where !rules.contains(rule) {
                lines.append("rule missing: \(rule.text(in: endpoint))")
            }
            if lines.isEmpty { lines.append("rules reordered by hand") }
        }
        for name in setNames.subtracting(endpoint.setNames).sorted() { lines.append("set \(name) is empty or unused") }
        lines += strayElements.map { "element added by hand: \($0)" }
        return lines
    }
}

/// berth's rule in the operator's host chain, found by its tag.
package struct HostRule: Hashable, Sendable {
    package var chain: String
    package var handle: Int
    /// `tcp . 7000` elements the rule accepts, sorted.
    package var ports: [String]
}

/// A base chain on the input hook outside berth's table: it sees the same packets, and its drop wins.
package struct InputChain: Hashable, Sendable {
    package var family: String
    package var table: String
    package var name: String
    package var policy: String
    /// The chain's rules in order, as libnftables' JSON objects.
    var rules: [JSONValue]

    package var description: String { "\(family) \(table) \(name)" }
}

/// What the kernel holds now: berth's table read back into the model, drift, the host rule and other input chains.
package struct LiveFirewall: Sendable {
    package var target: FirewallTarget
    /// Whether berth's table exists.
    package var exists: Bool
    /// Sorted by transport, then port.
    package var endpoints: [LiveEndpoint]
    /// Table-level differences from anything berth writes: unknown sets and chains, a changed base chain, ….
    package var drift: [String]
    /// Every rule tagged as this table's, in the host chain and in other input base chains.
    package var hostRules: [HostRule]
    /// Whether `target.hostChain` exists; true when no host chain was asked for.
    package var hostChainExists: Bool
    /// Base chains on the input hook of inet, ip and ip6 tables other than berth's.
    package var inputChains: [InputChain]

    /// SHA-256 over what berth manages (its table read back, drift, host rules), not over counters or the per-source
    /// sets traffic fills: a saved plan made against another fingerprint is stale.
    package var fingerprint: String {
        var text = exists ? "table\n" + RulesetText.table(name: target.tableName, endpoints: endpoints.map(\.endpoint)) : "none\n"
        for endpoint in endpoints { text += endpoint.drift.map { "\(endpoint.endpoint.claim): \($0)\n" }.joined() }
        text += drift.map { $0 + "\n" }.joined()
        text += hostRules.map { "host \($0.chain) \($0.handle) \($0.ports.joined(separator: ","))\n" }.joined()
        return SHA256.hex(text)
    }

    package init(target: FirewallTarget, exists: Bool = false, endpoints: [LiveEndpoint] = [], drift: [String] = [],
                 hostRules: [HostRule] = [], hostChainExists: Bool = true, inputChains: [InputChain] = []) {
        (self.target, self.exists, self.endpoints, self.drift, self.hostRules, self.hostChainExists, self.inputChains) =
            (target, exists, endpoints, drift, hostRules, hostChainExists, inputChains)
    }

    /// Reads berth's table, the host chain and the other input base chains through libnftables' JSON output.
    /// Throws when the table exists but is not berth's (no marker), or when nftables cannot be read.
    ///
    /// With `knownTable`, berth's table is taken to hold exactly that ruleset and is not listed: for when the ruleset
    /// generation shows nothing changed since berth verified it (`VerifiedTable`). Listing it is most of the cost.
    package static func read(_ session: NFTablesSession, target: FirewallTarget,
                             knownTable: Ruleset? = nil) throws(FirewallError) -> LiveFirewall {
        try target.validate()
        var live = LiveFirewall(target: target)
        let chains = try objects(session, "list chains")
        if let knownTable {
            live.exists = true
            live.endpoints = knownTable.endpoints.map {
                LiveEndpoint(endpoint: $0, rules: $0.rules, setNames: $0.setNames, strayElements: [])
            }
        } else {
            // Listing the table directly, not `list tables` first: libnftables fills its whole cache for `list tables`,
            // which costs as much as listing a large table twice.
            let table: [Object]
            do {
                table = try objects(session, "list table inet \(target.tableName)")
            } catch where error.code == .firewallRejected && error.message.contains("No such file or directory") {
                table = []
            }
            live.exists = !table.isEmpty
            if live.exists { try live.parseTable(table) }
        }
        var wanted: [(family: String, table: String, name: String)] = chains.compactMap { chain in
            guard chain.kind == "chain", ["inet", "ip", "ip6"].contains(chain.family), chain.body["hook"]?.stringValue == "input",
                !(chain.family == "inet" && chain.table == target.tableName), let name = chain.body["name"]?.stringValue
            else { return nil }
            return (chain.family, chain.table, name)
        }
        if let host = target.hostChain {
            live.hostChainExists = chains.contains {
                $0.kind == "chain" && $0.family == host.family && $0.table == host.table
                    && $0.body["name"]?.stringValue == host.chain
            }
            if live.hostChainExists, !wanted.contains(where: { ($0.family, $0.table, $0.name) == (host.family, host.table, host.chain) }) {
                wanted.append((host.family, host.table, host.chain))
            }
        }
        for (family, table, name) in wanted {
            let listed = try objects(session, "list chain \(family) \(table) \(name)")
            let header = listed.first { $0.kind == "chain" }
            let rules = listed.filter { $0.kind == "rule" }.map(\.body)
            for rule in rules where rule["comment"]?.stringValue == target.hostRuleTag {
                live.hostRules.append(HostRule(chain: "\(family) \(table) \(name)", handle: rule["handle"]?.intValue ?? 0,
                                               ports: Self.portElements(rule)))
            }
            if header?.body["hook"]?.stringValue == "input" {
                live.inputChains.append(InputChain(family: family, table: table, name: name,
                                                   policy: header?.body["policy"]?.stringValue ?? "accept", rules: rules))
            }
        }
        return live
    }

    /// One object of libnftables' `{"nftables": [...]}` list: its kind (`table`, `set`, `rule`, …) and members.
    struct Object {
        var kind: String
        var body: JSONValue
        var family: String { body["family"]?.stringValue ?? "" }
        var table: String { body["table"]?.stringValue ?? "" }
    }

    private static func objects(_ session: NFTablesSession, _ command: String) throws(FirewallError) -> [Object] {
        try objects(json: session.runJSON(command), of: command)
    }

    /// The objects of `command`'s JSON output (`bytes`); pure, so the cost of berth's own reading can be measured.
    static func objects(json bytes: [UInt8], of command: String) throws(FirewallError) -> [Object] {
        let documents: [JSONValue]
        do { documents = try NFTablesJSON.parseDocuments(bytes) } catch {
            throw FirewallError(.firewallUnreadable, "libnftables' JSON output for `\(command)` could not be read (byte \(error.offset))",
                                hint: "report this with the output of `nft -j \(command)`")
        }
        return documents.flatMap { document -> [Object] in
            (document["nftables"]?.arrayValue ?? []).compactMap { item in
                guard case .object(let members) = item, members.count == 1, let (kind, body) = members.first else { return nil }
                return Object(kind: kind, body: body)
            }
        }
    }

    /// The `proto . port` elements of a `meta l4proto . th dport { … }` rule, sorted.
    static func portElements(_ rule: JSONValue) -> [String] {
        for expression in rule["expr"]?.arrayValue ?? [] {
            guard let right = expression["match"]?["right"]?["set"]?.arrayValue else { continue }
            return right.compactMap { element -> String? in
                guard let parts = element["concat"]?.arrayValue, parts.count == 2, let proto = parts[0].stringValue,
                    let port = parts[1].intValue
                else { return nil }
                return "\(proto) . \(port)"
            }.sorted()
        }
        return []
    }

    // MARK: berth's table

    /// Reads berth's table from its listed objects into `endpoints` and `drift`.
    mutating func parseTable(_ objects: [Object]) throws(FirewallError) {
        var marked = false
        var prefixSets: [String: (elements: [IPPrefix], stray: [String])] = [:]
        var dispatch: [String: String] = [:]
        var chainRules: [String: [JSONValue]] = [:]
        var chainOrder: [String] = []
        var sawInput = false
        for object in objects {
            let name = object.body["name"]?.stringValue ?? ""
            switch object.kind {
            case "map" where name == "dispatch":
                marked = object.body["comment"]?.stringValue == RulesetText.marker
                for element in object.body["elem"]?.arrayValue ?? [] {
                    guard let pair = element.arrayValue, pair.count == 2, let key = pair[0]["concat"]?.arrayValue, key.count == 2,
                        let proto = key[0].stringValue, let port = key[1].intValue,
                        let target = pair[1]["jump"]?["target"]?.stringValue
                    else {
                        drift.append("dispatch element added by hand: \(JSONWriter.compact(element))")
                        continue
                    }
                    dispatch["\(proto)_\(port)"] = target
                }
            case "set" where ["rate4", "rate6", "conns4", "conns6"].contains(name):
                if !Self.isExpectedDynamicSet(object.body) { drift.append("set \(name) changed by hand") }
            case "set" where Self.endpointSet(name) != nil:
                prefixSets[name] = Self.prefixes(object.body)
            case "chain" where name == "input":
                sawInput = true
                let body = object.body
                if body["type"]?.stringValue != "filter" || body["hook"]?.stringValue != "input"
                    || body["prio"]?.intValue != 0 || body["policy"]?.stringValue != "accept" {
                    drift.append("chain input changed by hand (type, hook, priority or policy)")
                }
            case "chain" where Self.endpointChain(name) != nil:
                chainOrder.append(name)
                chainRules[name] = []
            case "chain":
                drift.append("unknown chain \(name)")
            case "rule":
                let chain = object.body["chain"]?.stringValue ?? ""
                if chain == "input" || chainRules[chain] != nil { chainRules[chain, default: []].append(object.body) }
            case "table", "metainfo": break
            default:
                drift.append("unknown \(object.kind) \(name)")
            }
        }
        guard marked else {
            throw FirewallError(.firewallTableNotBerths,
                                "table inet \(target.tableName) exists but was not made by berth (no \"\(RulesetText.marker)\" marker)",
                                hint: "choose another table with --table, or remove that table yourself if it is really unused")
        }
        if !sawInput { drift.append("chain input missing") }
        let inputRules = (chainRules["input"] ?? []).map { Self.recognise($0, chain: "input") }
        if inputRules != [.establishedTCP, .dispatch] {
            drift.append("chain input rules changed by hand: " + inputRules.map { $0.text(in: nil) }.joined(separator: "; "))
        }
        var used: Set<String> = []
        for chain in chainOrder {
            guard let (transport, port) = Self.endpointChain(chain) else { continue }
            let rules = chainRules[chain] ?? []
            var endpoint = FirewallEndpoint(name: "?", file: "?", transport: transport, port: port, allow: .empty, deny: .empty,
                                            limits: KernelLimits(rate: Rate(count: 0, seconds: 1), burst: 0, maxConnections: nil,
                                                                 maxConnectionsPerSource: nil, sourcePrefix: SourcePrefix(ipv4: 32, ipv6: 128)))
            if let described = rules.lazy.compactMap({ $0["comment"]?.stringValue }).compactMap(Self.describedEndpoint).first {
                (endpoint.name, endpoint.file) = described
            }
            var setNames: Set<String> = []
            var stray: [String] = []
            for kind in PrefixKind.allCases {
                var all: [IPPrefix] = []
                for family in IPFamily.allCases {
                    let name = endpoint.setName(kind, family)
                    guard let found = prefixSets[name] else { continue }
                    setNames.insert(name)
                    used.insert(name)
                    all += found.elements
                    stray += found.stray.map { "\($0) in \(name)" }
                }
                if kind == .allow { endpoint.allow = PrefixSet(all) } else { endpoint.deny = PrefixSet(all) }
            }
            let recognised = rules.map { Self.recognise($0, chain: chain) }
            Self.recoverLimits(recognised, into: &endpoint)
            if dispatch.removeValue(forKey: chain) != chain { drift.append("port \(endpoint.claim) is not dispatched to chain \(chain)") }
            endpoints.append(LiveEndpoint(endpoint: endpoint, rules: recognised, setNames: setNames, strayElements: stray))
        }
        for (key, target) in dispatch.sorted(by: { $0.key < $1.key }) {
            drift.append("dispatch element added by hand: \(key.split(separator: "_").joined(separator: " . ")) : jump \(target)")
        }
        for name in prefixSets.keys.sorted() where !used.contains(name) { drift.append("set \(name) has no chain") }
        endpoints.sort { ($0.endpoint.transport, $0.endpoint.port) < ($1.endpoint.transport, $1.endpoint.port) }
    }

    /// The limits the recognised rules carry; the IPv4 rules win when the families disagree (drift shows that).
    private static func recoverLimits(_ rules: [RuleStatement], into endpoint: inout FirewallEndpoint) {
        var seenRate: Set<IPFamily> = []
        var seenPerSource: Set<IPFamily> = []
        for rule in rules {
            switch rule {
            case .rate(let family, let length, let rate, let burst) where seenRate.isEmpty || family == .ipv6 && !seenRate.contains(.ipv6):
                if seenRate.isEmpty { (endpoint.limits.rate, endpoint.limits.burst) = (rate, burst) }
                seenRate.insert(family)
                if family == .ipv4 { endpoint.limits.sourcePrefix.ipv4 = length } else { endpoint.limits.sourcePrefix.ipv6 = length }
            case .perSource(let family, _, let max) where !seenPerSource.contains(family):
                if seenPerSource.isEmpty { endpoint.limits.maxConnectionsPerSource = max }
                seenPerSource.insert(family)
            case .total(let max): endpoint.limits.maxConnections = max
            default: break
            }
        }
    }

    private static func describedEndpoint(_ comment: String) -> (name: String, file: String)? {
        guard let open = comment.firstIndex(of: "("), let close = comment[open...].firstIndex(of: ")"), open > comment.startIndex
        else { return nil }
        let name = comment[..<open].trimmingCharacters(inSet: " ")
        return (name, String(comment[comment.index(after: open)..<close]))
    }

    static func endpointChain(_ name: String) -> (Transport, Int)? {
        let parts = name.split(separator: "_")
        guard parts.count == 2, let transport = Transport(rawValue: String(parts[0])), let port = Int(parts[1]),
            (1...65535).contains(port), String(port) == parts[1]
        else { return nil }
        return (transport, port)
    }

    static func endpointSet(_ name: String) -> (chain: String, kind: PrefixKind, family: IPFamily)? {
        let parts = name.split(separator: "_")
        guard parts.count == 3, endpointChain("\(parts[0])_\(parts[1])") != nil else { return nil }
        let suffix = parts[2]
        guard let kind = PrefixKind(rawValue: String(suffix.dropLast())), let digit = suffix.last, digit == "4" || digit == "6" else { return nil }
        return ("\(parts[0])_\(parts[1])", kind, digit == "4" ? .ipv4 : .ipv6)
    }

    private static func isExpectedDynamicSet(_ body: JSONValue) -> Bool {
        guard let name = body["name"]?.stringValue, let family: IPFamily = name.hasSuffix("4") ? .ipv4 : .ipv6,
            body["type"] == .array(["inet_proto", "inet_service", .string(family.nftType)]),
            body["size"]?.intValue == RulesetText.dynamicSetSize
        else { return false }
        let flags = body["flags"]?.arrayValue ?? []
        return name.hasPrefix("rate") ? flags == ["timeout"] && body["timeout"]?.intValue == 60 : flags.isEmpty
    }

    /// A prefix set's elements; elements that are not one prefix (ranges added by hand) are returned as text.
    private static func prefixes(_ body: JSONValue) -> (elements: [IPPrefix], stray: [String]) {
        var elements: [IPPrefix] = []
        var stray: [String] = []
        for raw in body["elem"]?.arrayValue ?? [] {
            let element = raw["elem"]?["val"] ?? raw
            if let text = element.stringValue, let address = NFTablesJSON.address(text) {
                elements.append(IPPrefix(family: address.family, address: address.value, length: address.family.bitWidth))
            } else if let prefix = element["prefix"], let text = prefix["addr"]?.stringValue, let address = NFTablesJSON.address(text),
                let length = prefix["len"]?.intValue, (0...address.family.bitWidth).contains(length) {
                elements.append(IPPrefix(family: address.family, address: address.value, length: length))
            } else if let range = element["range"]?.arrayValue, range.count == 2, let low = range[0].stringValue.flatMap(NFTablesJSON.address),
                let high = range[1].stringValue.flatMap(NFTablesJSON.address), let prefix = Self.exactPrefix(low, high) {
                elements.append(prefix)
            } else {
                stray.append(JSONWriter.compact(element))
            }
        }
        return (elements, stray)
    }

    /// The prefix covering exactly `low...high`, if there is one.
    private static func exactPrefix(_ low: IPAddress, _ high: IPAddress) -> IPPrefix? {
        guard low.family == high.family else { return nil }
        let hostBits = (high.value ^ low.value).nonzeroBitCount
        let prefix = IPPrefix(family: low.family, address: low.value, length: low.family.bitWidth - hostBits)
        return prefix.first == low.value && prefix.last == high.value ? prefix : nil
    }
}

extension Substring {
    func trimmingCharacters(inSet characters: String) -> String {
        String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
