import BerthPlan

extension Compilation {
    /// Reads and decodes `manifest.json`; without one, every source is allowed with default limits (a warning).
    mutating func decodeManifest() {
        guard scan.hasManifest else {
            report(Diagnostic(.manifestMissing, .warning, at: SourceLocation(file: ManifestDecoder.fileName),
                "no manifest.json: every source address may connect, with the default limits",
                hint: "add a manifest.json with {\"version\": 1, \"defaults\": {\"allow\": [...]}}"))
            return
        }
        guard let bytes = read(ManifestDecoder.fileName) else {
            report(Diagnostic(.manifestSyntax, .error, at: SourceLocation(file: ManifestDecoder.fileName),
                "manifest.json cannot be read", hint: "check the file's permissions"))
            manifest.globalErrors.append(.manifestSyntax)
            refuseAll(.manifestSyntax)
            return
        }
        let (decoded, problems) = ManifestDecoder.decode(bytes)
        manifest = decoded
        problems.forEach { report($0) }
        manifest.globalErrors.forEach { refuseAll($0) }
    }

    private mutating func refuseAll(_ code: Diagnostic.Code) {
        for index in candidates.indices { candidates[index].refusals.append(code) }
    }

    /// The manifest layers that apply to an entry, least specific first (defaults, name, claim, file).
    /// Works on indices: copying every selector's policy for every entry made large manifests quadratic.
    func layers(for parsed: HandlerFileName, file: String) -> [PolicyDraft] {
        let selectors = manifest.selectors
        let matched = selectors.indices.filter { matches(selectors[$0].selector, parsed, file) }
            .sorted { (selectors[$0].selector.specificity, $0) < (selectors[$1].selector.specificity, $1) }
        return [manifest.defaults] + matched.map { selectors[$0].policy }
    }

    func matches(_ selector: Selector, _ parsed: HandlerFileName, _ file: String) -> Bool {
        switch selector {
        case .name(let name): name == parsed.name
        case .claim(let transport, let port): transport == parsed.transport && port == parsed.port
        case .file(let name): name == file
        }
    }

    /// A selector that matches no entry is an error (usually a typo or a renamed file); one that sets keys which do
    /// not apply to the transports it selects gets a warning (or an error for TLS on UDP).
    mutating func matchSelectors() {
        let parsedEntries = candidates.compactMap { candidate in candidate.parsed.map { ($0, candidate.fileName) } }
        for (index, selectorPolicy) in manifest.selectors.enumerated() {
            let matched = parsedEntries.filter { matches(selectorPolicy.selector, $0.0, $0.1) }
            guard !matched.isEmpty else {
                let known = Set(parsedEntries.flatMap { [$0.0.name, "\($0.0.transport.rawValue)/\($0.0.port)", $0.1] })
                let suggestion = DidYouMean.closest(to: selectorPolicy.text, in: known.sorted())
                report(Diagnostic(.manifestSelectorUnmatched, .error, at: selectorPolicy.location,
                    "the selector \"\(selectorPolicy.text)\" matches no entry file in the folder",
                    hint: suggestion.map { "did you mean \"\($0)\"?" }
                        ?? "remove it, or add the handler file it is meant for"))
                continue
            }
            let transports = Set(matched.map(\.0.transport))
            for key in selectorPolicy.policy.keys {
                guard let needed = Self.transport(ofKey: key.name), !transports.contains(needed) else { continue }
                if key.name == "tls" {
                    report(Diagnostic(.tlsUDP, .error, at: key.location,
                        "\"tls\" is set for \"\(selectorPolicy.text)\", which selects only UDP handlers; TLS runs over TCP",
                        hint: "remove \"tls\" here, or serve the handler over tcp"))
                    manifest.selectors[index].policy.errors.append(.tlsUDP)
                } else {
                    report(Diagnostic(.manifestKeyNotApplicable, .warning, at: key.location,
                        "\"\(key.name)\" applies only to \(needed.rawValue.uppercased()) handlers, and \"\(selectorPolicy.text)\" selects none; it has no effect",
                        hint: "remove \"\(key.name)\" here"))
                }
            }
        }
    }

    /// The one transport a policy key applies to, or nil when it applies to both.
    static func transport(ofKey key: String) -> Transport? {
        switch key {
        case "maxConnections", "maxConnectionsPerSource", "connectionRate", "idleTimeout", "maxBufferedBytes", "tls": .tcp
        case "datagramRate": .udp
        default: nil
        }
    }
}
