import BerthPlan

/// A value from the manifest with the place it was written, so later checks can point at it.
struct Located<Value> {
    var value: Value
    var location: SourceLocation
}

/// The TLS object of a selector as decoded: paths as written, each with its place, for the checks that read them.
struct TLSDraft {
    /// One certificate chain file and its key file.
    struct Pair {
        var certificate: Located<String>
        var key: Located<String>
    }

    /// In manifest order: `cert` + `key`, or the `certificates` list.
    var pairs: [Pair]
    var clientCA: Located<String>?
    /// Whether a client without a verified certificate is refused; meaningful only with `clientCA`.
    var isClientCertificateRequired = true
    var alpn: [String] = []
    var minimumVersion: TLSVersion = .tls12
    var handshakeTimeoutMilliseconds = TLSSettings.defaultHandshakeTimeoutMilliseconds
    var isStrictSNI = false
    /// `"external": true`: every file of this object may be an absolute path outside the folder.
    var isExternal = false
}

/// One policy object (`defaults` or a selector's): every key optional, so layers can be merged key by key.
struct PolicyDraft {
    var allow: Located<[Located<IPPrefix>]>?
    var deny: Located<[Located<IPPrefix>]>?
    var maxConnections: Located<Int>?
    var maxConnectionsPerSource: Located<Int>?
    var connectionRate: Located<Rate>?
    var datagramRate: Located<Rate>?
    var burst: Located<Int>?
    var idleTimeoutMilliseconds: Located<Int>?
    var maxBufferedBytes: Located<Int>?
    var sourcePrefixIPv4: Located<Int>?
    var sourcePrefixIPv6: Located<Int>?
    var tls: Located<TLSDraft>?
    /// Where each key present was written, for key-not-applicable warnings.
    var keys: [(name: String, location: SourceLocation)] = []
    /// An error in this object: the endpoints it applies to are refused rather than served with a guessed policy.
    var errors: [Diagnostic.Code] = []
}

/// What a `handlers` key selects. More specific selectors win key by key: file > transport/port > name
/// (`Compilation.matchSelectors` lists an entry's selectors in that order).
enum Selector: Hashable {
    case name(String)
    case claim(Transport, Int)
    case file(String)
}

struct SelectorPolicy {
    var text: String
    var selector: Selector
    var location: SourceLocation
    var policy: PolicyDraft
}

/// The decoded manifest. `globalErrors` are errors that make every endpoint's policy unknowable (a syntax error,
/// a wrong version, a broken `defaults`): all endpoints are refused then.
struct Manifest {
    var defaults = PolicyDraft()
    var selectors: [SelectorPolicy] = []
    var globalErrors: [Diagnostic.Code] = []
}
