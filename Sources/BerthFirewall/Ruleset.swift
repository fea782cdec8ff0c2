package import BerthPlan

/// The limits the kernel enforces for one endpoint: the part of `Limits` nftables can express.
package struct KernelLimits: Hashable, Sendable {
    /// New TCP connections, or every UDP datagram, per source bucket.
    package var rate: Rate
    package var burst: Int
    /// Concurrent connections for the whole handler; nil for UDP.
    package var maxConnections: Int?
    /// Concurrent connections per source bucket; nil for UDP.
    package var maxConnectionsPerSource: Int?
    /// How sources are bucketed for the per-source limits.
    package var sourcePrefix: SourcePrefix

    package init(rate: Rate, burst: Int, maxConnections: Int?, maxConnectionsPerSource: Int?, sourcePrefix: SourcePrefix) {
        (self.rate, self.burst, self.maxConnections, self.maxConnectionsPerSource, self.sourcePrefix) =
            (rate, burst, maxConnections, maxConnectionsPerSource, sourcePrefix)
    }

    package init(_ limits: Limits, transport: Transport) {
        switch transport {
        case .tcp:
            self.init(rate: limits.connectionRate, burst: limits.burst, maxConnections: limits.maxConnections,
                      maxConnectionsPerSource: limits.maxConnectionsPerSource, sourcePrefix: limits.sourcePrefix)
        case .udp:
            self.init(rate: limits.datagramRate, burst: limits.burst, maxConnections: nil, maxConnectionsPerSource: nil,
                      sourcePrefix: limits.sourcePrefix)
        }
    }
}

/// One endpoint as the firewall sees it: who may reach the port and how fast.
package struct FirewallEndpoint: Hashable, Sendable {
    package var name: String
    package var file: String
    package var transport: Transport
    package var port: Int
    package var allow: PrefixSet
    package var deny: PrefixSet
    package var limits: KernelLimits

    package init(name: String, file: String, transport: Transport, port: Int, allow: PrefixSet, deny: PrefixSet,
                 limits: KernelLimits) {
        (self.name, self.file, self.transport, self.port, self.allow, self.deny, self.limits) =
            (name, file, transport, port, allow, deny, limits)
    }

    package init(_ endpoint: Endpoint) {
        self.init(name: endpoint.name, file: endpoint.file, transport: endpoint.transport, port: endpoint.port,
                  allow: endpoint.policy.allow, deny: endpoint.policy.deny,
                  limits: KernelLimits(endpoint.limits, transport: endpoint.transport))
    }

    /// `tcp/7000`, as the plan names the claim.
    package var claim: String { "\(transport.rawValue)/\(port)" }
    /// The endpoint's chain, and the prefix of its sets' names.
    var chain: String { "\(transport.rawValue)_\(port)" }

    func setName(_ kind: PrefixKind, _ family: IPFamily) -> String {
        "\(chain)_\(kind.rawValue)\(family == .ipv4 ? "4" : "6")"
    }

    func prefixes(_ kind: PrefixKind) -> PrefixSet { kind == .allow ? allow : deny }

    /// The sets berth writes for this endpoint: one per non-empty prefix list and family.
    var setNames: Set<String> {
        var names: Set<String> = []
        for kind in PrefixKind.allCases {
            for family in IPFamily.allCases where !prefixes(kind).prefixes(family).isEmpty { names.insert(setName(kind, family)) }
        }
        return names
    }

    /// The endpoint's rules in order: deny → drop, not allowed → drop, rate → drop, per-source and handler-wide
    /// connection caps → drop (TCP), accept. Empty prefix lists have no set: no deny rule, or drop the whole family.
    var rules: [RuleStatement] {
        var rules: [RuleStatement] = []
        for family in IPFamily.allCases where !deny.prefixes(family).isEmpty { rules.append(.deny(family)) }
        for family in IPFamily.allCases {
            rules.append(allow.prefixes(family).isEmpty ? .noneAllowed(family) : .allow(family))
        }
        for family in IPFamily.allCases {
            rules.append(.rate(family, sourcePrefix: limits.sourcePrefix.length(family), limits.rate, burst: limits.burst))
        }
        if let perSource = limits.maxConnectionsPerSource {
            for family in IPFamily.allCases {
                rules.append(.perSource(family, sourcePrefix: limits.sourcePrefix.length(family), max: perSource))
            }
        }
        if let total = limits.maxConnections { rules.append(.total(max: total)) }
        rules.append(.accept)
        return rules
    }
}

/// The two prefix lists of a policy; their raw values name the sets.
enum PrefixKind: String, CaseIterable {
    case allow, deny
}

extension SourcePrefix {
    func length(_ family: IPFamily) -> Int { family == .ipv4 ? ipv4 : ipv6 }
}

/// The desired firewall: berth's table rendered from a plan, and the host-chain rule if one was asked for.
package struct Ruleset: Hashable, Sendable {
    package var target: FirewallTarget
    /// Sorted by transport, then port (the plan's order).
    package var endpoints: [FirewallEndpoint]

    package init(endpoints: [FirewallEndpoint], target: FirewallTarget) {
        self.endpoints = endpoints.sorted { ($0.transport, $0.port) < ($1.transport, $1.port) }
        self.target = target
    }

    package init(plan: DeploymentPlan, target: FirewallTarget) {
        self.init(endpoints: plan.endpoints.map(FirewallEndpoint.init), target: target)
    }

    /// The nft text of the table followed by the host-chain rule: what `--dry-run` prints and goldens hold.
    package var script: String {
        var text = tableScript
        if let rule = hostRuleCommand { text += rule + "\n" }
        return text
    }

    /// `table inet NAME { … }`: the whole table as one nft declaration.
    package var tableScript: String {
        RulesetText.table(name: target.tableName, endpoints: endpoints)
    }

    /// The declared ports as `meta l4proto . th dport` elements, e.g. `tcp . 7000`.
    var portElements: [String] { endpoints.map(\.portElement) }

    /// `insert rule … accept comment "berth:inet berth"`: first in the host chain, so the host's own drops come after.
    var hostRuleCommand: String? {
        guard let host = target.hostChain, !endpoints.isEmpty else { return nil }
        return "insert rule \(host) \(RulesetText.hostRuleBody(ports: portElements, tag: target.hostRuleTag))"
    }
}

/// One rule berth writes, recognisable again in libnftables' JSON output.
enum RuleStatement: Hashable {
    /// Base chain: TCP packets of connections screened when they opened skip the endpoint chains.
    case establishedTCP
    /// Base chain: jump to the endpoint chain of a declared port.
    case dispatch
    case deny(IPFamily)
    case allow(IPFamily)
    /// No prefix of this family is allowed: its set is omitted and the family dropped.
    case noneAllowed(IPFamily)
    case rate(IPFamily, sourcePrefix: Int, Rate, burst: Int)
    case perSource(IPFamily, sourcePrefix: Int, max: Int)
    case total(max: Int)
    case accept
    /// Anything else found in berth's table: drift, shown as text.
    case other(String)

    /// The nft text of the rule inside `endpoint`'s chain (the rule's comment excluded).
    func text(in endpoint: FirewallEndpoint?) -> String {
        switch self {
        case .establishedTCP: return "meta l4proto tcp ct state established,related accept"
        case .dispatch: return "meta l4proto . th dport vmap @dispatch"
        case .deny(let family): return "\(family.saddr) @\(endpoint?.setName(.deny, family) ?? "?") drop"
        case .allow(let family): return "\(family.saddr) != @\(endpoint?.setName(.allow, family) ?? "?") drop"
        case .noneAllowed(let family): return "meta nfproto \(family.rawValue) drop"
        case .rate(let family, let length, let rate, let burst):
            return "update @rate\(family.digit) { \(Self.key(family, length)) timeout \(Self.rateTimeout(rate, burst: burst))s"
                + " limit rate over \(rate.count)/\(rate.nftUnit) burst \(burst) packets } drop"
        case .perSource(let family, let length, let max):
            return "add @conns\(family.digit) { \(Self.key(family, length)) ct count over \(max) } drop"
        case .total(let max): return "ct count over \(max) drop"
        case .accept: return "accept"
        case .other(let text): return text
        }
    }

    /// What the rule does, for its comment.
    var purpose: String {
        switch self {
        case .establishedTCP: "established TCP connections were screened when they opened"
        case .dispatch: "declared ports jump to their handler's chain"
        case .deny(let family): "denied \(family.label) sources"
        case .allow(let family): "\(family.label) sources not allowed"
        case .noneAllowed(let family): "no \(family.label) source allowed"
        case .rate(let family, let length, let rate, _): "over \(rate) per \(family.label) /\(length)"
        case .perSource(let family, let length, let max): "over \(max) connections per \(family.label) /\(length)"
        case .total(let max): "over \(max) connections in all"
        case .accept: "admitted"
        case .other: "unknown"
        }
    }

    /// The source key of a per-source set: protocol, port and the source masked to its bucket.
    static func key(_ family: IPFamily, _ length: Int) -> String {
        let source = length >= family.bitWidth ? family.saddr : "\(family.saddr) and \(mask(family, length))"
        return "meta l4proto . th dport . \(source)"
    }

    static func mask(_ family: IPFamily, _ length: Int) -> String {
        family == .ipv4 ? ipv4Masks[length] : ipv6Masks[length]
    }

    /// Every mask, formatted once: each endpoint's rate and count rules name theirs.
    private static let ipv4Masks = (0...32).map { IPAddress(family: .ipv4, value: IPPrefix.mask(family: .ipv4, length: $0)).description }
    private static let ipv6Masks = (0...128).map { IPAddress(family: .ipv6, value: IPPrefix.mask(family: .ipv6, length: $0)).description }

    /// Seconds a rate bucket lives after its last packet: at least a minute, and long enough to refill completely
    /// (`burst` tokens at `rate`), so expiry never hands a source more than a fresh bucket would.
    static func rateTimeout(_ rate: Rate, burst: Int) -> Int {
        let refill = (max(burst, 1) * rate.seconds + max(rate.count, 1) - 1) / max(rate.count, 1)
        return max(60, refill)
    }
}

extension IPFamily {
    var saddr: String { self == .ipv4 ? "ip saddr" : "ip6 saddr" }
    var digit: String { self == .ipv4 ? "4" : "6" }
    var label: String { self == .ipv4 ? "IPv4" : "IPv6" }
    var nftType: String { self == .ipv4 ? "ipv4_addr" : "ipv6_addr" }
}

extension Rate {
    /// nft's unit for `seconds`: a plan's rates are per second, minute or hour, which nft names the same way.
    var nftUnit: String {
        switch seconds {
        case 1: "second"
        case 60: "minute"
        case 3600: "hour"
        case 86400: "day"
        default: preconditionFailure("a plan rate is per second, minute or hour, not per \(seconds)s")
        }
    }
}

/// The nft text berth writes; one function per declaration so the reader's expectations come from the same place.
enum RulesetText {
    /// Marks berth's table. libnftables 1.0.6 omits table comments from JSON, so the dispatch map carries it too.
    static let marker = "berth: managed by berth; do not edit"
    /// Entries per per-source set (all endpoints share one set per family and kind): a bound on kernel memory.
    static let dynamicSetSize = 65535

    static func table(name: String, endpoints: [FirewallEndpoint]) -> String {
        var out = ScriptText()
        out += "table inet \(name) {\n\tcomment \"\(marker)\"\n"
        out += "\n\tmap dispatch {\n\t\ttype inet_proto . inet_service : verdict\n\t\tcomment \"\(marker)\"\n"
        if !endpoints.isEmpty {
            out += "\t\telements = { "
            for (index, endpoint) in endpoints.enumerated() {
                if index > 0 { out += ",\n\t\t\t     " }
                out += endpoint.transport.rawValue
                out += " . "
                out += endpoint.port
                out += " : jump "
                out += endpoint.chain
            }
            out += " }\n"
        }
        out += "\t}\n"
        for family in IPFamily.allCases {
            out += dynamicSet("rate\(family.digit)", family: family, timeout: true,
                              comment: "berth: new TCP connections and UDP datagrams per \(family.label) source")
            out += dynamicSet("conns\(family.digit)", family: family, timeout: false,
                              comment: "berth: concurrent TCP connections per \(family.label) source")
        }
        for endpoint in endpoints {
            let description = describe(endpoint)
            for kind in PrefixKind.allCases {
                for family in IPFamily.allCases where !endpoint.prefixes(kind).prefixes(family).isEmpty {
                    out += "\n\tset "
                    out += endpoint.setName(kind, family)
                    out += " {\n\t\ttype \(family.nftType)\n\t\tflags interval\n\t\tcomment "
                    out += quoted(description + ": \(kind.rawValue) \(family.label)")
                    out += "\n\t\telements = { "
                    for (index, prefix) in endpoint.prefixes(kind).prefixes(family).enumerated() {
                        if index > 0 { out += ", " }
                        out += prefix.nftText
                    }
                    out += " }\n\t}\n"
                }
            }
        }
        out += "\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
        out += "\t\tcomment \"\(marker)\"\n"
        for rule in [RuleStatement.establishedTCP, .dispatch] { out.rule(rule.text(in: nil), comment: rule.purpose) }
        out += "\t}\n"
        for endpoint in endpoints {
            let description = describe(endpoint)
            out += "\n\tchain "
            out += endpoint.chain
            out += " {\n\t\tcomment "
            out += quoted(description)
            out += "\n"
            for rule in endpoint.rules { out.rule(rule.text(in: endpoint), comment: description + ": " + rule.purpose) }
            out += "\t}\n"
        }
        out += "}\n"
        return out.string
    }

    static func dynamicSet(_ name: String, family: IPFamily, timeout: Bool, comment: String) -> String {
        "\n\tset \(name) {\n\t\ttype inet_proto . inet_service . \(family.nftType)\n\t\tsize \(dynamicSetSize)\n"
            + (timeout ? "\t\tflags dynamic,timeout\n\t\ttimeout 1m\n" : "\t\tflags dynamic\n")
            + "\t\tcomment \(quoted(comment))\n\t}\n"
    }

    /// `echo (echo.tcp.7000.port.js)`: names handler and file, which is how the manifest names an endpoint.
    static func describe(_ endpoint: FirewallEndpoint) -> String { "\(endpoint.name) (\(endpoint.file))" }

    /// nft comments hold at most 128 bytes and cannot escape a quote.
    static func quoted(_ text: String) -> String {
        let isClean = { (byte: UInt8) in byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") }
        // Almost every comment is clean already; checking costs a fraction of filtering.
        if text.utf8.count <= 127, text.utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(isClean) }) == true {
            return "\"" + text + "\""
        }
        let kept = text.utf8.filter(isClean)
        let clean = kept.count > 127 ? kept.prefix(124) + Array("...".utf8) : kept
        return "\"" + String(decoding: clean, as: UTF8.self) + "\""
    }

    static func hostRuleBody(ports: [String], tag: String) -> String {
        "meta l4proto . th dport { \(ports.joined(separator: ", ")) } accept comment \(quoted(tag))"
    }
}

extension IPPrefix {
    /// How nft writes an element: host prefixes without their length, as libnftables lists them.
    var nftText: String {
        length == family.bitWidth ? IPAddress(family: family, value: address).description : description
    }
}

/// nft text built as bytes: a large table is some 100,000 pieces, and each String append costs far more than copying
/// its bytes.
struct ScriptText {
    private var bytes: [UInt8] = []

    static func += (text: inout ScriptText, piece: String) {
        var piece = piece
        piece.withUTF8 { text.bytes.append(contentsOf: $0) }
    }

    static func += (text: inout ScriptText, number: Int) { text += String(number) }

    /// `\t\tRULE comment "COMMENT"\n`.
    mutating func rule(_ rule: String, comment: String) {
        self += "\t\t"
        self += rule
        self += " comment "
        self += RulesetText.quoted(comment)
        self += "\n"
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}
