/// The catalogue of diagnostic codes. `berth explain CODE` prints the long form of each.
extension Diagnostic.Code {
    // Filename grammar and the claims file names make.
    package static let grammarTransport = Self(rawValue: "grammar.transport")
    package static let grammarPort = Self(rawValue: "grammar.port")
    package static let grammarPortRange = Self(rawValue: "grammar.port-range")
    package static let grammarName = Self(rawValue: "grammar.name")
    package static let grammarNotAFile = Self(rawValue: "grammar.not-a-file")
    package static let grammarNestedEntry = Self(rawValue: "grammar.nested-entry")
    package static let grammarPortConflict = Self(rawValue: "grammar.port-conflict")
    package static let grammarNoEntries = Self(rawValue: "grammar.no-entries")
    package static let grammarSuffix = Self(rawValue: "grammar.suffix")

    // The manifest.
    package static let manifestMissing = Self(rawValue: "manifest.missing")
    package static let manifestSyntax = Self(rawValue: "manifest.syntax")
    package static let manifestDuplicateKey = Self(rawValue: "manifest.duplicate-key")
    package static let manifestType = Self(rawValue: "manifest.type")
    package static let manifestUnknownKey = Self(rawValue: "manifest.unknown-key")
    package static let manifestVersion = Self(rawValue: "manifest.version")
    package static let manifestSelector = Self(rawValue: "manifest.selector")
    package static let manifestSelectorUnmatched = Self(rawValue: "manifest.selector-unmatched")
    package static let manifestKeyNotApplicable = Self(rawValue: "manifest.key-not-applicable")
    package static let manifestCIDRSyntax = Self(rawValue: "manifest.cidr-syntax")
    package static let manifestCIDRHostBits = Self(rawValue: "manifest.cidr-host-bits")
    package static let manifestCIDRPrefixLength = Self(rawValue: "manifest.cidr-prefix-length")
    package static let manifestCIDRMapped = Self(rawValue: "manifest.cidr-mapped")
    package static let manifestCIDRRedundant = Self(rawValue: "manifest.cidr-redundant")
    package static let manifestDenyUnused = Self(rawValue: "manifest.deny-unused")
    package static let manifestAllowShadowed = Self(rawValue: "manifest.allow-shadowed")
    package static let manifestAllowEmpty = Self(rawValue: "manifest.allow-empty")
    package static let manifestLimitRange = Self(rawValue: "manifest.limit-range")
    package static let manifestRate = Self(rawValue: "manifest.rate")
    package static let manifestDuration = Self(rawValue: "manifest.duration")
    package static let manifestLimitOrder = Self(rawValue: "manifest.limit-order")

    // Handler modules.
    package static let moduleUnreadable = Self(rawValue: "module.unreadable")
    package static let moduleSyntax = Self(rawValue: "module.syntax")
    package static let moduleMissingExport = Self(rawValue: "module.missing-export")
    package static let moduleExportNotFunction = Self(rawValue: "module.export-not-function")
    package static let moduleOtherTransportExport = Self(rawValue: "module.other-transport-export")
    package static let moduleImportNotFound = Self(rawValue: "module.import-not-found")
    package static let moduleOutsideFolder = Self(rawValue: "module.outside-folder")
    package static let moduleUnknownBuiltin = Self(rawValue: "module.unknown-builtin")
    package static let moduleUndefinedGlobal = Self(rawValue: "module.undefined-global")
    package static let moduleTooLarge = Self(rawValue: "module.too-large")

    // TLS references.
    package static let tlsUDP = Self(rawValue: "tls.udp")
    package static let tlsFileMissing = Self(rawValue: "tls.file-missing")
    package static let tlsOutsideFolder = Self(rawValue: "tls.outside-folder")
    package static let tlsInvalidPEM = Self(rawValue: "tls.invalid-pem")
    package static let tlsKeyMismatch = Self(rawValue: "tls.key-mismatch")
    package static let tlsExpired = Self(rawValue: "tls.expired")
    package static let tlsExpiring = Self(rawValue: "tls.expiring")
    package static let tlsNotYetValid = Self(rawValue: "tls.not-yet-valid")
    package static let tlsPairs = Self(rawValue: "tls.pairs")
    package static let tlsSNIShadowed = Self(rawValue: "tls.sni-shadowed")
    package static let tlsClientCA = Self(rawValue: "tls.client-ca")
    package static let tlsClientCANotCA = Self(rawValue: "tls.client-ca-not-ca")
    package static let tlsClientAuth = Self(rawValue: "tls.client-auth")
    package static let tlsALPN = Self(rawValue: "tls.alpn")
    package static let tlsMinVersion = Self(rawValue: "tls.min-version")
    package static let tlsHandshakeTimeout = Self(rawValue: "tls.handshake-timeout")
    package static let tlsRejected = Self(rawValue: "tls.rejected")

    /// Every code berth can emit, in catalogue order (grouped, then as listed above).
    package static let all: [Self] = [
        .grammarTransport, .grammarPort, .grammarPortRange, .grammarName, .grammarNotAFile, .grammarNestedEntry,
        .grammarPortConflict, .grammarNoEntries, .grammarSuffix,
        .manifestMissing, .manifestSyntax, .manifestDuplicateKey, .manifestType, .manifestUnknownKey,
        .manifestVersion, .manifestSelector, .manifestSelectorUnmatched, .manifestKeyNotApplicable,
        .manifestCIDRSyntax, .manifestCIDRHostBits, .manifestCIDRPrefixLength, .manifestCIDRMapped,
        .manifestCIDRRedundant, .manifestDenyUnused, .manifestAllowShadowed, .manifestAllowEmpty,
        .manifestLimitRange, .manifestRate, .manifestDuration, .manifestLimitOrder,
        .moduleUnreadable, .moduleSyntax, .moduleMissingExport, .moduleExportNotFunction,
        .moduleOtherTransportExport, .moduleImportNotFound, .moduleOutsideFolder, .moduleUnknownBuiltin,
        .moduleUndefinedGlobal, .moduleTooLarge,
        .tlsUDP, .tlsFileMissing, .tlsOutsideFolder, .tlsInvalidPEM, .tlsKeyMismatch, .tlsExpired, .tlsExpiring,
        .tlsNotYetValid, .tlsPairs, .tlsSNIShadowed, .tlsClientCA, .tlsClientCANotCA, .tlsClientAuth, .tlsALPN,
        .tlsMinVersion, .tlsHandshakeTimeout, .tlsRejected,
    ]
}

// The firewall stage (`berth plan/apply/destroy` against nftables). Operational, so not in `all`, which is the
// compile catalogue (every member there has a compile fixture).
extension Diagnostic.Code {
    package static let firewallNotPermitted = Self(rawValue: "firewall.not-permitted")
    package static let firewallUnsupported = Self(rawValue: "firewall.unsupported")
    package static let firewallTableNotBerths = Self(rawValue: "firewall.table-not-berths")
    package static let firewallTableName = Self(rawValue: "firewall.table-name")
    package static let firewallRejected = Self(rawValue: "firewall.rejected")
    package static let firewallHostChainSyntax = Self(rawValue: "firewall.host-chain-syntax")
    package static let firewallHostChainMissing = Self(rawValue: "firewall.host-chain-missing")
    package static let firewallHostChainDrops = Self(rawValue: "firewall.host-chain-drops")
    package static let firewallUnreadable = Self(rawValue: "firewall.unreadable")

    /// Every firewall code, for `berth explain`.
    package static let firewall: [Self] = [
        .firewallNotPermitted, .firewallUnsupported, .firewallTableNotBerths, .firewallTableName, .firewallRejected,
        .firewallHostChainSyntax, .firewallHostChainMissing, .firewallHostChainDrops, .firewallUnreadable,
    ]
}
