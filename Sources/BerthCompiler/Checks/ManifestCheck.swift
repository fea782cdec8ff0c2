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

    /// Finds each entry's selectors (`Candidate.selectors`). A selector that matches no entry is an error (usually a
    /// typo or a renamed file); one that sets keys which do not apply to the transports it selects gets a warning (or
    /// an error for TLS on UDP).
    mutating func matchSelectors() {
        // Selector indices by selector, each list in manifest order: an entry finds its own in three lookups instead
        // of comparing every selector with every entry (a million string comparisons for 1,000 of each).
        let indices = Dictionary(grouping: manifest.selectors.indices) { manifest.selectors[$0].selector }
        var transports = [Set<Transport>](repeating: [], count: manifest.selectors.count)
        for index in candidates.indices {
            guard let parsed = candidates[index].parsed else { continue }
            // Least specific first (name, claim, file), then in manifest order: the order layers apply in.
            let file = candidates[index].fileName
            let selectors: [Selector] = [.name(parsed.name), .claim(parsed.transport, parsed.port), .file(file)]
            candidates[index].selectors = selectors.flatMap { indices[$0] ?? [] }
            for selector in candidates[index].selectors { transports[selector].insert(parsed.transport) }
        }
        for (index, selectorPolicy) in manifest.selectors.enumerated() {
            guard !transports[index].isEmpty else {
                let known = candidates.flatMap { candidate in
                    candidate.parsed.map { [$0.name, "\($0.transport.rawValue)/\($0.port)", candidate.fileName] } ?? []
                }
                // A near-miss file (grammar.suffix) that would match once renamed explains the selector: say so.
                if let nearMiss = candidates.first(where: { candidate in
                    candidate.intended.map { selects(selectorPolicy.selector, HandlerFileName.parse($0).name, $0) }
                        ?? false
                }), let intended = nearMiss.intended {
                    report(Diagnostic(.manifestSelectorUnmatched, .error, at: selectorPolicy.location,
                        "the selector \"\(selectorPolicy.text)\" matches no entry file in the folder",
                        hint: "rename \(nearMiss.fileName) to \(intended), the entry this selector is meant for",
                        related: [SourceLocation(file: nearMiss.fileName)]))
                    continue
                }
                let suggestion = DidYouMean.closest(to: selectorPolicy.text, in: Set(known).sorted())
                report(Diagnostic(.manifestSelectorUnmatched, .error, at: selectorPolicy.location,
                    "the selector \"\(selectorPolicy.text)\" matches no entry file in the folder",
                    hint: suggestion.map { "did you mean \"\($0)\"?" }
                        ?? "remove it, or add the handler file it is meant for"))
                continue
            }
            for key in selectorPolicy.policy.keys {
                guard let needed = Self.transport(ofKey: key.name), !transports[index].contains(needed) else {
                    continue
                }
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

    /// Whether `selector` selects the entry `file` (parsed as `parsed`).
    private func selects(_ selector: Selector, _ parsed: HandlerFileName?, _ file: String) -> Bool {
        guard let parsed else { return false }
        switch selector {
        case .name(let name): return name == parsed.name
        case .claim(let transport, let port): return transport == parsed.transport && port == parsed.port
        case .file(let selected): return selected == file
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
