import BerthPlan

/// Turns `manifest.json`'s bytes into a `Manifest` and diagnostics that point at the key or value at fault.
struct ManifestDecoder {
    static let fileName = "manifest.json"
    static let topLevelKeys = ["$schema", "version", "defaults", "handlers"]
    static let policyKeys = [
        "allow", "deny", "maxConnections", "maxConnectionsPerSource", "connectionRate", "datagramRate", "burst",
        "idleTimeout", "maxBufferedBytes", "sourcePrefix", "tls",
    ]
    static let limitRange = 1...1_000_000
    static let idleTimeoutRange = 100...86_400_000
    static let bufferedBytesRange = 1024...1_073_741_824

    private(set) var diagnostics: [Diagnostic] = []
    /// Error codes reported outside every policy object (`defaults` and the selectors' own): they leave every
    /// endpoint's policy in doubt. Errors inside a policy refuse only what that policy applies to.
    private var documentErrors: [Diagnostic.Code] = []
    /// Above zero while a policy object (or a selector key) is decoded.
    private var policyDepth = 0

    static func decode(_ bytes: [UInt8]) -> (Manifest, [Diagnostic]) {
        var decoder = ManifestDecoder()
        let manifest = decoder.decodeDocument(bytes)
        return (manifest, decoder.diagnostics)
    }

    private func location(_ position: TextPosition) -> SourceLocation { SourceLocation(file: Self.fileName, position) }

    private mutating func report(
        _ code: Diagnostic.Code, _ severity: Diagnostic.Severity = .error, at position: TextPosition, _ message: String,
        hint: String? = nil, related: [SourceLocation] = []
    ) {
        diagnostics.append(Diagnostic(code, severity, at: location(position), message, hint: hint, related: related))
        if severity == .error, policyDepth == 0 { documentErrors.append(code) }
    }

    private mutating func decodeDocument(_ bytes: [UInt8]) -> Manifest {
        var manifest = Manifest()
        let root: JSONNode
        do { root = try JSONParser.parse(bytes) } catch {
            report(.manifestSyntax, at: error.position, "manifest.json is not valid JSON: \(error.message)",
                   hint: "fix the JSON at this position; every endpoint is refused until the manifest parses")
            manifest.globalErrors.append(.manifestSyntax)
            return manifest
        }
        guard case .object(let members) = root.value else {
            report(.manifestType, at: root.position, "the manifest must be a JSON object, not \(root.kindDescription)",
                   hint: "write {\"version\": 1, \"defaults\": {…}, \"handlers\": {…}}")
            manifest.globalErrors.append(.manifestType)
            return manifest
        }
        checkDuplicates(members)
        var sawVersion = false
        for member in members {
            switch member.key {
            case "$schema":
                if member.value.stringValue == nil { typeError(member, expected: "a string") }
            case "version":
                sawVersion = true
                if member.value.integerValue != 1 {
                    report(.manifestVersion, at: member.value.position,
                           "unsupported manifest version \(describe(member.value)); this berth reads version 1",
                           hint: "write \"version\": 1")
                }
            case "defaults":
                manifest.defaults = decodePolicy(member.value, inDefaults: true)
            case "handlers":
                guard case .object(let selectors) = member.value.value else { typeError(member, expected: "an object"); continue }
                // A selector written twice refuses what it selects, like any other error in its policy.
                policyDepth += 1
                let duplicated = checkDuplicates(selectors)
                policyDepth -= 1
                for entry in selectors {
                    guard let selector = Self.parseSelector(entry.key) else {
                        report(.manifestSelector, at: entry.keyPosition,
                               "\"\(entry.key)\" is not a selector",
                               hint: "use a handler name (echo), tcp/PORT or udp/PORT (tcp/7000), or an entry file name (echo.tcp.7000.port.js)")
                        continue
                    }
                    var policy = decodePolicy(entry.value, inDefaults: false)
                    if duplicated.contains(entry.key) { policy.errors.append(.manifestDuplicateKey) }
                    manifest.selectors.append(SelectorPolicy(
                        text: entry.key, selector: selector, location: location(entry.keyPosition), policy: policy))
                }
            default:
                unknownKey(member, known: Self.topLevelKeys)
            }
        }
        if !sawVersion {
            report(.manifestVersion, at: root.position, "the manifest has no \"version\"",
                   hint: "add \"version\": 1 at the top of the object")
        }
        // Any error outside the policy objects leaves every endpoint's policy in doubt, and so does one in `defaults`.
        // A selector that is itself invalid (`manifest.selector`, reported here) may have been meant to restrict any
        // endpoint: that refuses them all too.
        manifest.globalErrors += documentErrors + manifest.defaults.errors
        return manifest
    }

    static func parseSelector(_ text: String) -> Selector? {
        if HandlerFileName.hasEntrySuffix(text) {
            if HandlerFileName.parse(text).name != nil { return .file(text) }
            return nil
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let transport = Transport(rawValue: String(parts[0])), parts[1].allSatisfy(\.isASCIIDigit),
                parts[1].first != "0", let port = Int(parts[1]), (1...65535).contains(port)
            else { return nil }
            return .claim(transport, port)
        }
        return HandlerFileName.isValidName(text) ? .name(text) : nil
    }

    /// Reports every repeated key; returns the keys written more than once.
    @discardableResult
    private mutating func checkDuplicates(_ members: [JSONNode.Member]) -> Set<String> {
        var seen: [String: TextPosition] = [:]
        var duplicated: Set<String> = []
        for member in members {
            if let first = seen[member.key] {
                report(.manifestDuplicateKey, at: member.keyPosition,
                       "\"\(member.key)\" appears twice in this object (first at line \(first.line))",
                       hint: "keep one \"\(member.key)\"; JSON parsers disagree on which duplicate wins")
                duplicated.insert(member.key)
            } else {
                seen[member.key] = member.keyPosition
            }
        }
        return duplicated
    }

    private mutating func unknownKey(_ member: JSONNode.Member, known: [String]) {
        let suggestion = DidYouMean.closest(to: member.key, in: known)
        report(.manifestUnknownKey, at: member.keyPosition, "unknown key \"\(member.key)\"",
               hint: suggestion.map { "did you mean \"\($0)\"?" } ?? "known keys: " + known.joined(separator: ", "))
    }

    private mutating func typeError(_ member: JSONNode.Member, expected: String, example: String? = nil) {
        report(.manifestType, at: member.value.position,
               "\"\(member.key)\" must be \(expected), not \(member.value.kindDescription)",
               hint: example.map { "write \"\(member.key)\": \($0)" })
    }

    private func describe(_ node: JSONNode) -> String {
        switch node.value {
        case .number(let lexeme): lexeme
        case .string(let text): "\"\(text)\""
        default: node.kindDescription
        }
    }

    // MARK: Policy objects

    private mutating func decodePolicy(_ node: JSONNode, inDefaults: Bool) -> PolicyDraft {
        let before = diagnostics.count
        policyDepth += 1
        defer { policyDepth -= 1 }
        var draft = decodePolicyMembers(node, inDefaults: inDefaults)
        draft.errors = diagnostics[before...].filter { $0.severity == .error }.map(\.code)
        return draft
    }

    private mutating func decodePolicyMembers(_ node: JSONNode, inDefaults: Bool) -> PolicyDraft {
        var draft = PolicyDraft()
        guard case .object(let members) = node.value else {
            report(.manifestType, at: node.position, "a policy must be an object, not \(node.kindDescription)",
                   hint: "write {\"allow\": [\"10.0.0.0/8\"], \"maxConnections\": 100}")
            return draft
        }
        checkDuplicates(members)
        for member in members {
            guard Self.policyKeys.contains(member.key) else { unknownKey(member, known: Self.policyKeys); continue }
            draft.keys.append((member.key, location(member.keyPosition)))
            switch member.key {
            case "allow": draft.allow = decodePrefixes(member)
            case "deny": draft.deny = decodePrefixes(member)
            case "maxConnections": draft.maxConnections = decodeInteger(member, range: Self.limitRange)
            case "maxConnectionsPerSource": draft.maxConnectionsPerSource = decodeInteger(member, range: Self.limitRange)
            case "burst": draft.burst = decodeInteger(member, range: Self.limitRange)
            case "maxBufferedBytes": draft.maxBufferedBytes = decodeInteger(member, range: Self.bufferedBytesRange)
            case "connectionRate": draft.connectionRate = decodeRate(member)
            case "datagramRate": draft.datagramRate = decodeRate(member)
            case "idleTimeout": draft.idleTimeoutMilliseconds = decodeDuration(member)
            case "sourcePrefix": decodeSourcePrefix(member, into: &draft)
            case "tls":
                if inDefaults {
                    report(.manifestKeyNotApplicable, .warning, at: member.keyPosition,
                           "\"tls\" is ignored in \"defaults\": a certificate belongs to one handler",
                           hint: "move \"tls\" under \"handlers\" for the handler it serves")
                } else {
                    draft.tls = decodeTLS(member)
                }
            default: preconditionFailure("policyKeys and this switch disagree on \(member.key)")
            }
        }
        return draft
    }

    private mutating func decodeInteger(_ member: JSONNode.Member, range: ClosedRange<Int>) -> Located<Int>? {
        guard case .number(let lexeme) = member.value.value else {
            typeError(member, expected: "an integer", example: String(range.lowerBound))
            return nil
        }
        guard let value = Int(lexeme) else {
            report(.manifestType, at: member.value.position, "\"\(member.key)\" must be a whole number, not \(lexeme)",
                   hint: "write an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        guard range.contains(value) else {
            report(.manifestLimitRange, at: member.value.position,
                   "\"\(member.key)\" is \(value), outside \(range.lowerBound)...\(range.upperBound)",
                   hint: "write an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Located(value: value, location: location(member.value.position))
    }

    private mutating func decodeRate(_ member: JSONNode.Member) -> Located<Rate>? {
        guard let text = member.value.stringValue else { typeError(member, expected: "a rate string", example: "\"50/s\""); return nil }
        guard let rate = Rate.parse(text) else {
            report(.manifestRate, at: member.value.position, "\"\(text)\" is not a rate",
                   hint: "write COUNT/UNIT with UNIT s, m or h, e.g. \"50/s\" or \"600/m\"")
            return nil
        }
        guard Self.limitRange.contains(rate.count) else {
            report(.manifestLimitRange, at: member.value.position,
                   "the rate \"\(text)\" counts \(rate.count), outside 1...\(Self.limitRange.upperBound)",
                   hint: "write a count from 1 to \(Self.limitRange.upperBound) per unit")
            return nil
        }
        return Located(value: rate, location: location(member.value.position))
    }

    /// A duration string in `range` (milliseconds); bad syntax is `manifest.duration`, a value outside the range
    /// `outOfRange`.
    private mutating func decodeDuration(
        _ member: JSONNode.Member, range: ClosedRange<Int> = Self.idleTimeoutRange,
        outOfRange: Diagnostic.Code = .manifestLimitRange, example: String = "\"5m\""
    ) -> Located<Int>? {
        guard let text = member.value.stringValue else {
            typeError(member, expected: "a duration string", example: example)
            return nil
        }
        guard let milliseconds = DurationText.parseMilliseconds(text) else {
            report(.manifestDuration, at: member.value.position, "\"\(text)\" is not a duration",
                   hint: "write a whole number with a unit: \"250ms\", \"30s\", \"5m\" or \"1h\"")
            return nil
        }
        let (lowest, highest) = (DurationText.format(milliseconds: range.lowerBound),
                                 DurationText.format(milliseconds: range.upperBound))
        guard range.contains(milliseconds) else {
            report(outOfRange, at: member.value.position, "\"\(member.key)\" is \(text), outside \(lowest)...\(highest)",
                   hint: "write a duration from \"\(lowest)\" to \"\(highest)\"")
            return nil
        }
        return Located(value: milliseconds, location: location(member.value.position))
    }

    private mutating func decodeSourcePrefix(_ member: JSONNode.Member, into draft: inout PolicyDraft) {
        guard case .object(let members) = member.value.value else {
            typeError(member, expected: "an object", example: "{\"ipv4\": 32, \"ipv6\": 64}")
            return
        }
        checkDuplicates(members)
        for entry in members {
            switch entry.key {
            case "ipv4": draft.sourcePrefixIPv4 = decodeInteger(entry, range: 0...32)
            case "ipv6": draft.sourcePrefixIPv6 = decodeInteger(entry, range: 0...128)
            default: unknownKey(entry, known: ["ipv4", "ipv6"])
            }
        }
    }

    // MARK: TLS

    static let tlsKeys = [
        "cert", "key", "certificates", "clientCA", "clientCertificate", "alpn", "minVersion", "handshakeTimeout",
        "strictSNI", "external",
    ]
    static let pairKeys = ["cert", "key"]
    static let handshakeTimeoutRange = 100...300_000
    /// RFC 7301: a protocol name is 1 to 255 bytes.
    static let alpnNameLengths = 1...255
    static let tlsExample = #"{"cert": "certs/echo.pem", "key": "certs/echo.key"}"#
    static let certificatesExample =
        #"[{"cert": "certs/a.pem", "key": "certs/a.key"}, {"cert": "certs/b.pem", "key": "certs/b.key"}]"#

    /// The `tls` object of a selector. Any error in it returns nil: the policy's error then refuses the endpoints it
    /// selects, so none is served with half of its TLS settings.
    private mutating func decodeTLS(_ member: JSONNode.Member) -> Located<TLSDraft>? {
        guard case .object(let members) = member.value.value else {
            typeError(member, expected: "an object", example: Self.tlsExample)
            return nil
        }
        let before = diagnostics.count
        checkDuplicates(members)
        var draft = TLSDraft(pairs: [])
        var certificate: Located<String>?
        var key: Located<String>?
        var list: [TLSDraft.Pair]?
        var clientCertificateKey: TextPosition?
        for entry in members {
            switch entry.key {
            case "cert": certificate = decodePath(entry, example: "\"certs/echo.pem\"")
            case "key": key = decodePath(entry, example: "\"certs/echo.key\"")
            case "certificates": list = decodePairs(entry)
            case "clientCA": draft.clientCA = decodePath(entry, example: "\"certs/clients-ca.pem\"")
            case "clientCertificate":
                clientCertificateKey = entry.keyPosition
                draft.isClientCertificateRequired = decodeClientCertificate(entry) ?? true
            case "alpn": draft.alpn = decodeALPN(entry)
            case "minVersion": draft.minimumVersion = decodeMinimumVersion(entry) ?? .tls12
            case "handshakeTimeout":
                let timeout = decodeDuration(
                    entry, range: Self.handshakeTimeoutRange, outOfRange: .tlsHandshakeTimeout, example: "\"10s\"")
                draft.handshakeTimeoutMilliseconds = timeout?.value ?? TLSSettings.defaultHandshakeTimeoutMilliseconds
            case "strictSNI": draft.isStrictSNI = decodeBool(entry) ?? false
            case "external": draft.isExternal = decodeBool(entry) ?? false
            default: unknownKey(entry, known: Self.tlsKeys)
            }
        }
        let written = Dictionary(members.map { ($0.key, $0.keyPosition) }, uniquingKeysWith: { first, _ in first })
        let single = written["cert"] ?? written["key"]
        switch (single, written["certificates"]) {
        case (let single?, let listKey?):
            report(.tlsPairs, at: listKey,
                   "\"tls\" has both \"cert\"/\"key\" and \"certificates\"; write one pair or a list of pairs, not both",
                   hint: "move the \"cert\" and \"key\" pair into \"certificates\" (first if it should serve clients that send no name)",
                   related: [location(single)])
        case (nil, nil):
            report(.tlsPairs, at: member.value.position, "\"tls\" names no certificate",
                   hint: "write \"tls\": \(Self.tlsExample), or \"certificates\": [...] for several pairs chosen by SNI")
        case (_?, nil):
            if written["cert"] == nil {
                report(.tlsPairs, at: member.value.position, "\"tls\" has a \"key\" but no \"cert\"",
                       hint: "add \"cert\": the PEM certificate (chain) the key belongs to")
            } else if written["key"] == nil {
                report(.tlsPairs, at: member.value.position, "\"tls\" has a \"cert\" but no \"key\"",
                       hint: "add \"key\": the PEM private key of the certificate")
            } else if let certificate, let key {
                draft.pairs = [TLSDraft.Pair(certificate: certificate, key: key)]
            }
        case (nil, _?):
            draft.pairs = list ?? []
        }
        if let clientCertificateKey, written["clientCA"] == nil {
            report(.tlsClientAuth, at: clientCertificateKey,
                   "\"clientCertificate\" is set but there is no \"clientCA\" to verify client certificates against",
                   hint: "add \"clientCA\": \"certs/clients-ca.pem\" (the CA certificates that issue client certificates), or remove \"clientCertificate\"")
        }
        guard !diagnostics[before...].contains(where: { $0.severity == .error }), !draft.pairs.isEmpty else {
            return nil
        }
        return Located(value: draft, location: location(member.keyPosition))
    }

    private mutating func decodePath(_ member: JSONNode.Member, example: String) -> Located<String>? {
        guard let path = member.value.stringValue, !path.isEmpty else {
            typeError(member, expected: "a non-empty path string", example: example)
            return nil
        }
        return Located(value: path, location: location(member.value.position))
    }

    private mutating func decodeBool(_ member: JSONNode.Member) -> Bool? {
        guard case .bool(let flag) = member.value.value else {
            typeError(member, expected: "a boolean", example: "true")
            return nil
        }
        return flag
    }

    /// `certificates`: one or more `{"cert", "key"}` objects; nil when the list is unusable (reported).
    private mutating func decodePairs(_ member: JSONNode.Member) -> [TLSDraft.Pair]? {
        guard case .array(let items) = member.value.value else {
            typeError(member, expected: "an array of {\"cert\", \"key\"} objects", example: Self.certificatesExample)
            return nil
        }
        guard !items.isEmpty else {
            report(.tlsPairs, at: member.value.position, "\"certificates\" is empty; an endpoint needs at least one pair",
                   hint: "write \"certificates\": \(Self.certificatesExample)")
            return nil
        }
        var pairs: [TLSDraft.Pair] = []
        for item in items {
            guard case .object(let members) = item.value else {
                report(.manifestType, at: item.position,
                       "\"certificates\" entries must be objects, not \(item.kindDescription)",
                       hint: "write \(Self.tlsExample)")
                continue
            }
            checkDuplicates(members)
            var certificate: Located<String>?
            var key: Located<String>?
            for entry in members {
                switch entry.key {
                case "cert": certificate = decodePath(entry, example: "\"certs/a.pem\"")
                case "key": key = decodePath(entry, example: "\"certs/a.key\"")
                case "external":
                    report(.manifestUnknownKey, at: entry.keyPosition, "unknown key \"external\" in a certificate pair",
                           hint: "move \"external\": true to the tls object: it applies to every file of the object")
                default: unknownKey(entry, known: Self.pairKeys)
                }
            }
            let keys = Set(members.map(\.key))
            for name in Self.pairKeys where !keys.contains(name) {
                report(.tlsPairs, at: item.position, "this certificate pair has no \"\(name)\"",
                       hint: name == "key" ? "add \"key\": the PEM private key of the certificate"
                                           : "add \"cert\": the PEM certificate (chain) the key belongs to")
            }
            if let certificate, let key { pairs.append(TLSDraft.Pair(certificate: certificate, key: key)) }
        }
        return pairs.count == items.count ? pairs : nil
    }

    /// `clientCertificate`: true for "required", false for "optional".
    private mutating func decodeClientCertificate(_ member: JSONNode.Member) -> Bool? {
        guard let text = member.value.stringValue else {
            typeError(member, expected: "\"required\" or \"optional\"", example: "\"required\"")
            return nil
        }
        switch text {
        case "required": return true
        case "optional": return false
        default:
            let suggestion = DidYouMean.closest(to: text.lowercased(), in: ["required", "optional"])
            report(.tlsClientAuth, at: member.value.position,
                   "\"clientCertificate\" is \"\(text)\"; it is \"required\" or \"optional\"",
                   hint: suggestion.map { "write \"\($0)\"" }
                       ?? "write \"required\" (no verified certificate, no connection) or \"optional\" (served; conn.authorized tells)")
            return nil
        }
    }

    /// `alpn`: protocol names in preference order, each 1–255 bytes of visible ASCII, no duplicates.
    private mutating func decodeALPN(_ member: JSONNode.Member) -> [String] {
        guard case .array(let items) = member.value.value else {
            let example = member.value.stringValue.map { text in
                "[" + Self.splitProtocols(text).map { "\"\($0)\"" }.joined(separator: ", ") + "]"
            }
            typeError(member, expected: "an array of protocol names", example: example ?? #"["h2", "http/1.1"]"#)
            return []
        }
        guard !items.isEmpty else {
            report(.tlsALPN, at: member.value.position, "\"alpn\" is empty, which would refuse every client that offers ALPN",
                   hint: "list the protocols the handler speaks, e.g. [\"h2\", \"http/1.1\"], or remove \"alpn\"")
            return []
        }
        var names: [String] = []
        var seen: [String: TextPosition] = [:]
        for item in items {
            guard let name = item.stringValue else {
                report(.manifestType, at: item.position, "\"alpn\" entries must be strings, not \(item.kindDescription)",
                       hint: "write \"http/1.1\"")
                continue
            }
            let bytes = Array(name.utf8)
            if let first = seen[name] {
                report(.tlsALPN, at: item.position, "\"\(name)\" appears twice in \"alpn\"",
                       hint: "remove this entry", related: [location(first)])
            } else if bytes.isEmpty {
                report(.tlsALPN, at: item.position, "an ALPN protocol name cannot be empty",
                       hint: "remove the empty entry, or write a protocol name such as \"http/1.1\"")
            } else if !Self.alpnNameLengths.contains(bytes.count) {
                report(.tlsALPN, at: item.position,
                       "the ALPN protocol name is \(bytes.count) bytes long; at most 255 fit in the handshake (RFC 7301)",
                       hint: "write the protocol's registered identifier, e.g. \"h2\" or \"http/1.1\"")
            } else if Self.splitProtocols(name).count > 1 {
                let parts = Self.splitProtocols(name).map { "\"\($0)\"" }
                report(.tlsALPN, at: item.position,
                       "\"\(name)\" is several protocol names in one string",
                       hint: "write each as its own entry: [\(parts.joined(separator: ", "))]")
            } else if !bytes.allSatisfy({ (0x21...0x7E).contains($0) }) {
                report(.tlsALPN, at: item.position,
                       "\"\(name)\" has characters other than visible ASCII; ALPN names are identifiers like \"h2\"",
                       hint: "write the protocol's registered identifier, e.g. \"h2\" or \"http/1.1\"")
            }
            if seen[name] == nil { seen[name] = item.position }
            names.append(name)
        }
        return names
    }

    /// "h2, http/1.1" → ["h2", "http/1.1"]: a list written as one string.
    private static func splitProtocols(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }

    /// `minVersion`: "1.2" or "1.3". TLS 1.0 and 1.1 are refused (RFC 8996), with 1.2 as the fix.
    private mutating func decodeMinimumVersion(_ member: JSONNode.Member) -> TLSVersion? {
        guard let text = member.value.stringValue else {
            // 1.3 written as a number: the fix is the same digits in quotes.
            var example = "\"1.2\""
            if case .number(let lexeme) = member.value.value, TLSVersion(rawValue: lexeme) != nil { example = "\"\(lexeme)\"" }
            typeError(member, expected: "a version string", example: example)
            return nil
        }
        if let version = TLSVersion(rawValue: text) { return version }
        // "TLSv1.3", "tls1.2", "v1.2": the number is what berth reads.
        var number = Substring(text.lowercased())
        for prefix in ["tlsv", "tls", "v"] where number.hasPrefix(prefix) {
            number = number.dropFirst(prefix.count)
            break
        }
        number = number.drop(while: { $0 == " " })
        if ["1.0", "1", "1.1"].contains(number) {
            report(.tlsMinVersion, at: member.value.position,
                   "\"minVersion\" is \"\(text)\": TLS 1.0 and 1.1 are deprecated (RFC 8996) and berth does not offer them",
                   hint: "write \"1.2\" (the default) or \"1.3\"")
        } else if let version = TLSVersion(rawValue: String(number)) {
            report(.tlsMinVersion, at: member.value.position,
                   "\"minVersion\" is \"\(text)\"; berth reads the bare version number",
                   hint: "write \"\(version.rawValue)\"")
        } else {
            report(.tlsMinVersion, at: member.value.position,
                   "\"minVersion\" is \"\(text)\", not a TLS version berth offers",
                   hint: "write \"1.2\" (the default) or \"1.3\"")
        }
        return nil
    }

    // MARK: Prefix lists

    private mutating func decodePrefixes(_ member: JSONNode.Member) -> Located<[Located<IPPrefix>]>? {
        guard case .array(let items) = member.value.value else {
            typeError(member, expected: "an array of CIDR strings", example: "[\"10.0.0.0/8\", \"2001:db8::/32\"]")
            return nil
        }
        var prefixes: [Located<IPPrefix>] = []
        for item in items {
            guard let text = item.stringValue else {
                report(.manifestType, at: item.position, "\"\(member.key)\" entries must be CIDR strings, not \(item.kindDescription)",
                       hint: "write \"10.0.0.0/8\"")
                continue
            }
            let at = location(item.position)
            switch IPPrefix.parse(text) {
            case .success(let prefix):
                prefixes.append(Located(value: prefix, location: at))
            case .failure(.ipv4Mapped(let equivalent)):
                report(.manifestCIDRMapped, .warning, at: item.position,
                       "\"\(text)\" is an IPv4-mapped IPv6 prefix; berth matches such sources against IPv4 rules and uses \(equivalent)",
                       hint: "write \"\(equivalent)\"")
                prefixes.append(Located(value: equivalent, location: at))
            case .failure(.hostBitsSet(let canonical)):
                report(.manifestCIDRHostBits, at: item.position,
                       "\"\(text)\" has host bits set after the /\(canonical.length) prefix",
                       hint: "write \"\(canonical)\"")
            case .failure(.lengthOutOfRange(let family, let length)):
                report(.manifestCIDRPrefixLength, at: item.position,
                       "the prefix length /\(length) is longer than an \(family == .ipv4 ? "IPv4" : "IPv6") address (\(family.bitWidth) bits)",
                       hint: "write a length from 0 to \(family.bitWidth)")
            case .failure(.scopeID):
                report(.manifestCIDRSyntax, at: item.position,
                       "\"\(text)\" has a zone index (%…); source rules cannot name an interface",
                       hint: "remove the %zone part")
            case .failure(.syntax(let reason)):
                report(.manifestCIDRSyntax, at: item.position, "\"\(text)\" is not a CIDR prefix: \(reason)",
                       hint: "write ADDRESS/LENGTH, e.g. \"10.0.0.0/8\" or \"2001:db8::/32\"")
            }
        }
        reportRedundant(prefixes, list: member.key)
        return Located(value: prefixes, location: location(member.keyPosition))
    }

    /// Entries already covered by another entry of the same list (or repeated) are noise and hide mistakes.
    private mutating func reportRedundant(_ prefixes: [Located<IPPrefix>], list: String) {
        // Prefixes are nested or disjoint, so in address order (wider first, then list order) an entry is covered by
        // another exactly when the widest entry before it contains it: one sort instead of comparing every pair, for
        // lists of tens of thousands. The diagnostic then names the first cover in list order, as a reader scans.
        let order = prefixes.indices.sorted { a, b in
            let (x, y) = (prefixes[a].value, prefixes[b].value)
            return (x.family, x.address, x.length, a) < (y.family, y.address, y.length, b)
        }
        var covered: [Int] = []
        var widest: IPPrefix?
        for index in order {
            let value = prefixes[index].value
            if let widest, widest.contains(value) { covered.append(index) } else { widest = value }
        }
        for index in covered.sorted() {
            let entry = prefixes[index]
            guard let cover = prefixes.indices.first(where: { other in
                other != index && prefixes[other].value.contains(entry.value)
                    && (prefixes[other].value != entry.value || other < index)
            }).map({ prefixes[$0] }) else { continue }
            let same = cover.value == entry.value
            diagnostics.append(Diagnostic(.manifestCIDRRedundant, .warning, at: entry.location,
                same ? "\(entry.value) appears twice in \"\(list)\""
                     : "\(entry.value) is already covered by \(cover.value) in \"\(list)\"",
                hint: "remove this entry", related: [cover.location]))
        }
    }
}
