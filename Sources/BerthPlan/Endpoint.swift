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

/// A certificate and key that terminate TLS on a TCP endpoint, as checked at compile time.
package struct TLSReference: Hashable, Sendable {
    /// Paths as the manifest wrote them: relative to the folder, or absolute with `external: true`.
    package var certificate: String
    package var key: String
    package var certificateSHA256: String
    /// RFC 3339 UTC instant after which the certificate is no longer valid.
    package var notAfter: String

    package init(certificate: String, key: String, certificateSHA256: String, notAfter: String) {
        (self.certificate, self.key, self.certificateSHA256, self.notAfter) =
            (certificate, key, certificateSHA256, notAfter)
    }
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
    package var tls: TLSReference?

    package init(
        name: String, transport: Transport, port: Int, file: String, moduleSHA256: String, imports: [String],
        exports: [String], policy: Policy, limits: Limits, tls: TLSReference?
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
