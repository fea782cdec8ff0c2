/// The compiled deployment: what to serve, who may reach it, and what was refused. Every later stage (firewall,
/// broker) consumes this value; its canonical JSON is byte-identical for the same folder.
package struct DeploymentPlan: Hashable, Sendable {
    /// The format of the plan document; bumped when a field changes meaning.
    package static let formatVersion = 1

    package var berthVersion: String
    /// SHA-256 over every file the plan depends on (path and content), so a stale plan can be detected.
    package var folderHash: String
    /// Sorted by transport, then port.
    package var endpoints: [Endpoint]
    /// Sorted by file.
    package var refused: [RefusedEntry]
    /// Sorted (`Diagnostic.<`).
    package var diagnostics: [Diagnostic]
    /// The bytes of every module file the compiler checked, by path relative to the folder: `serve` loads these and
    /// never reads a module a second time, so what runs is what was checked. Not part of the plan document.
    package var sources: [String: CompiledSource] = [:]
    /// Files an import names that do not exist (yet), relative to the folder: a broker watches for them to appear.
    /// Not part of the plan document.
    package var awaitedFiles: Set<String> = []
    /// The bytes of every TLS certificate, key and CA file the compiler checked, by path as the manifest wrote it:
    /// the broker's handshakes use these, so a pair half-rewritten since the check is never served. Not part of the
    /// plan document.
    package var credentials: [String: [UInt8]] = [:]

    package init(
        berthVersion: String, folderHash: String, endpoints: [Endpoint], refused: [RefusedEntry],
        diagnostics: [Diagnostic]
    ) {
        self.berthVersion = berthVersion
        self.folderHash = folderHash
        // Indices are sorted, not endpoints: moving 10,000 endpoint values through a merge sort cost more than the
        // rest of building the plan.
        let order = endpoints.indices.sorted {
            (endpoints[$0].transport, endpoints[$0].port) < (endpoints[$1].transport, endpoints[$1].port)
        }
        self.endpoints = order.map { endpoints[$0] }
        self.refused = refused.sorted { $0.file < $1.file }
        self.diagnostics = diagnostics.sorted()
    }

    /// SHA-256 of the canonical JSON without the hash itself: the identity `apply FILE` checks.
    package var planHash: String { SHA256.hex(JSONWriter.compactUTF8(.object(jsonMembers))) }

    /// The plan document (`schemas/plan.schema.json`).
    package var json: JSONValue { json(planHash: planHash) }

    /// The plan document with a hash already computed (hashing a large plan is most of the cost of writing it).
    package func json(planHash: String) -> JSONValue {
        var members = jsonMembers
        members["planHash"] = .string("sha256:" + planHash)
        return .object(members)
    }

    private var jsonMembers: [String: JSONValue] {
        [
            "$schema": "https://berth.dev/schemas/plan.schema.json",
            "formatVersion": .int(Self.formatVersion),
            "berthVersion": .string(berthVersion),
            "folderHash": .string("sha256:" + folderHash),
            "endpoints": .array(endpoints.map(\.json)),
            "refused": .array(refused.map(\.json)),
            "diagnostics": .array(diagnostics.map(\.json)),
        ]
    }
}

extension Endpoint {
    package var json: JSONValue {
        var limitsJSON: [String: JSONValue] = [
            "burst": .int(limits.burst),
            "sourcePrefix": ["ipv4": .int(limits.sourcePrefix.ipv4), "ipv6": .int(limits.sourcePrefix.ipv6)],
        ]
        switch transport {
        case .tcp:
            limitsJSON["maxConnections"] = .int(limits.maxConnections)
            limitsJSON["maxConnectionsPerSource"] = .int(limits.maxConnectionsPerSource)
            limitsJSON["connectionRate"] = limits.connectionRate.json
            limitsJSON["idleTimeoutMs"] = .int(limits.idleTimeoutMilliseconds)
            limitsJSON["maxBufferedBytes"] = .int(limits.maxBufferedBytes)
        case .udp:
            limitsJSON["datagramRate"] = limits.datagramRate.json
        }
        return [
            "name": .string(name),
            "transport": .string(transport.rawValue),
            "port": .int(port),
            "file": .string(file),
            "moduleSha256": .string(moduleSHA256),
            "imports": .array(imports.map(JSONValue.string)),
            "exports": .array(exports.map(JSONValue.string)),
            "policy": ["allow": policy.allow.json, "deny": policy.deny.json],
            "limits": .object(limitsJSON),
            "tls": tls?.json ?? .null,
        ]
    }
}

extension TLSSettings {
    package var json: JSONValue {
        [
            "certificates": .array(certificates.map {
                [
                    "certificate": .string($0.certificate), "key": .string($0.key),
                    "certificateSha256": .string($0.certificateSHA256), "notAfter": .string($0.notAfter),
                    "names": .array($0.names.map(JSONValue.string)),
                ]
            }),
            "clientCA": clientAuthority.map {
                ["file": .string($0.file), "sha256": .string($0.sha256), "required": .bool($0.isRequired)]
            } ?? .null,
            "alpn": .array(alpn.map(JSONValue.string)),
            "minVersion": .string(minimumVersion.rawValue),
            "handshakeTimeoutMs": .int(handshakeTimeoutMilliseconds),
            "strictSNI": .bool(isStrictSNI),
        ]
    }
}

extension Rate {
    package var json: JSONValue { ["count": .int(count), "perSeconds": .int(seconds), "text": .string(description)] }
}

extension PrefixSet {
    package var json: JSONValue {
        ["ipv4": .array(ipv4.map { .string($0.description) }), "ipv6": .array(ipv6.map { .string($0.description) })]
    }
}

extension RefusedEntry {
    package var json: JSONValue {
        [
            "file": .string(file),
            "transport": .optional(transport?.rawValue),
            "port": port.map(JSONValue.int) ?? .null,
            "reasons": .array(reasons.map { .string($0.rawValue) }),
        ]
    }
}

extension Diagnostic {
    /// The JSON shape shared by `validate --format json` and the plan (`schemas/diagnostics.schema.json`).
    package var json: JSONValue {
        var members: [String: JSONValue] = [
            "code": .string(code.rawValue),
            "severity": .string(severity.rawValue),
            "message": .string(message),
            "hint": .optional(hint),
            "file": .optional(location?.file),
            "line": location?.line.map(JSONValue.int) ?? .null,
            "column": location?.column.map(JSONValue.int) ?? .null,
        ]
        if !related.isEmpty {
            members["related"] = .array(related.map {
                ["file": .string($0.file), "line": $0.line.map(JSONValue.int) ?? .null,
                 "column": $0.column.map(JSONValue.int) ?? .null]
            })
        }
        return .object(members)
    }
}

/// One module file as the compiler read and checked it.
package struct CompiledSource: Hashable, Sendable {
    package var bytes: [UInt8]
    /// SHA-256 (hex) of `bytes`, as the folder hash counts it.
    package var sha256: String

    package init(bytes: [UInt8]) { (self.bytes, sha256) = (bytes, SHA256.hex(bytes)) }
}
