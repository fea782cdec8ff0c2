/// The two transports a handler file can declare.
package enum Transport: String, Hashable, Sendable, CaseIterable, Comparable {
    case tcp, udp
    package static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// The export a module of this transport must provide.
    package var entryExport: String { self == .tcp ? "handle" : "message" }
}

/// Who may reach an endpoint. Deny is checked first; an address must then be in `allow`.
package struct Policy: Hashable, Sendable {
    package var allow: PrefixSet
    package var deny: PrefixSet
    package init(allow: PrefixSet, deny: PrefixSet) { (self.allow, self.deny) = (allow, deny) }

    package func admits(_ address: IPAddress) -> Bool { !deny.contains(address) && allow.contains(address) }
}

/// How a TCP endpoint terminates TLS, as checked at compile time: what the broker's handshakes use.
package struct TLSSettings: Hashable, Sendable {
    /// The certificate pairs, in manifest order. A client's SNI name picks the first pair whose certificate covers it;
    /// the first pair serves clients that send no name (and, unless `isStrictSNI`, names no pair covers).
    package var certificates: [TLSCertificate]
    /// Client certificates (mTLS) checked against a CA file; nil when clients are not asked for one.
    package var clientAuthority: TLSClientAuthority?
    /// ALPN protocols the endpoint speaks, in the server's order of preference; empty: no ALPN.
    package var alpn: [String]
    package var minimumVersion: TLSVersion
    /// A handshake not finished within this long is cut (counted as `tls-timeout`).
    package var handshakeTimeoutMilliseconds: Int
    /// Refuse a client whose SNI name no certificate covers, instead of answering with the first pair.
    package var isStrictSNI: Bool

    package static let defaultHandshakeTimeoutMilliseconds = 10_000

    package init(
        certificates: [TLSCertificate], clientAuthority: TLSClientAuthority? = nil, alpn: [String] = [],
        minimumVersion: TLSVersion = .tls12, handshakeTimeoutMilliseconds: Int = Self.defaultHandshakeTimeoutMilliseconds,
        isStrictSNI: Bool = false
    ) {
        (self.certificates, self.clientAuthority, self.alpn) = (certificates, clientAuthority, alpn)
        (self.minimumVersion, self.handshakeTimeoutMilliseconds, self.isStrictSNI) =
            (minimumVersion, handshakeTimeoutMilliseconds, isStrictSNI)
    }

    /// Every file the settings read, as the manifest wrote them: what `DeploymentPlan.credentials` holds.
    package var files: [String] {
        certificates.flatMap { [$0.certificate, $0.key] } + (clientAuthority.map { [$0.file] } ?? [])
    }
}

/// One certificate chain and its private key.
package struct TLSCertificate: Hashable, Sendable {
    /// Paths as the manifest wrote them: relative to the folder, or absolute with `external: true`.
    package var certificate: String
    package var key: String
    /// Lowercase hex SHA-256 of the leaf certificate's DER encoding.
    package var certificateSHA256: String
    /// SHA-256 of the key file's bytes: a rewritten key is a change even when the certificate is not. Not in the plan
    /// JSON.
    package var keySHA256: String
    /// RFC 3339 UTC instant after which the certificate is no longer valid.
    package var notAfter: String
    /// The DNS names the certificate covers (subject alternative names, else the subject's CN), as written in it.
    package var names: [String]

    package init(
        certificate: String, key: String, certificateSHA256: String, keySHA256: String, notAfter: String,
        names: [String]
    ) {
        (self.certificate, self.key, self.certificateSHA256, self.keySHA256) =
            (certificate, key, certificateSHA256, keySHA256)
        (self.notAfter, self.names) = (notAfter, names)
    }
}

/// The CA certificates client certificates must chain to.
package struct TLSClientAuthority: Hashable, Sendable {
    /// The CA file as the manifest wrote it.
    package var file: String
    /// SHA-256 of the file's bytes.
    package var sha256: String
    /// Required: a client without a valid certificate fails the handshake. Optional: it is served, and
    /// `conn.authorized` says whether its certificate verified.
    package var isRequired: Bool

    package init(file: String, sha256: String, isRequired: Bool) {
        (self.file, self.sha256, self.isRequired) = (file, sha256, isRequired)
    }
}

/// The oldest TLS version an endpoint accepts.
package enum TLSVersion: String, Hashable, Sendable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"
}

/// One served port: a handler file claiming a transport and port, with its resolved policy and limits.
package struct Endpoint: Hashable, Sendable {
    package var name: String
    package var transport: Transport
    package var port: Int
    /// The entry file, relative to the folder.
    package var file: String
    /// SHA-256 (hex) of the entry file's bytes.
    package var moduleSHA256: String
    /// Supporting files the entry imports, directly or not, relative to the folder, sorted.
    package var imports: [String]
    /// The entry's export names, sorted.
    package var exports: [String]
    package var policy: Policy
    package var limits: Limits
    package var tls: TLSSettings?

    package init(
        name: String, transport: Transport, port: Int, file: String, moduleSHA256: String, imports: [String],
        exports: [String], policy: Policy, limits: Limits, tls: TLSSettings?
    ) {
        self.name = name
        self.transport = transport
        self.port = port
        self.file = file
        self.moduleSHA256 = moduleSHA256
        self.imports = imports
        self.exports = exports
        self.policy = policy
        self.limits = limits
        self.tls = tls
    }

    /// `tcp/7000`: how selectors, logs and the firewall name the claim.
    package var claim: String { "\(transport.rawValue)/\(port)" }
}

/// An entry file that is not served, and why.
package struct RefusedEntry: Hashable, Sendable {
    package var file: String
    package var transport: Transport?
    package var port: Int?
    /// The codes of the error diagnostics that refused it, sorted and unique.
    package var reasons: [Diagnostic.Code]

    package init(file: String, transport: Transport?, port: Int?, reasons: [Diagnostic.Code]) {
        (self.file, self.transport, self.port, self.reasons) = (file, transport, port, reasons)
    }
}
