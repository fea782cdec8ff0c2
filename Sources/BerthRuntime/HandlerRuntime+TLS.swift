import BerthJS

/// A TLS connection's handshake facts, handed to JavaScript (js/tls.js's TLSSocket reads them).
extension HandlerRuntime {
    /// The object hooks.js's `acceptTLS` takes, made without running JavaScript: `servername` and `alpnProtocol`
    /// (a string or false), `protocol`, `cipherName`, `cipherStandardName`, `cipherVersion`, `authorized`,
    /// `authorizationError` (a string or undefined) and `peerCertificate` (null when the client sent none). Every key
    /// is an own property, so nothing a handler put on Object.prototype is read instead. The exception marker, with
    /// the exception pending, when the heap is full.
    func tlsFacts(_ tls: TLSConnectionInfo, in context: JSContext) -> JSRef {
        var facts = DataObject(context.newObject(), in: context)
        facts.define(TLSFactKey.servername, stringOrFalse(tls.serverName, in: context))
        facts.define(TLSFactKey.alpnProtocol, stringOrFalse(tls.alpnProtocol, in: context))
        facts.define(TLSFactKey.protocolVersion, context.string(tls.protocolVersion))
        facts.define(TLSFactKey.cipherName, context.string(tls.cipherName))
        facts.define(TLSFactKey.cipherStandardName, context.string(tls.cipherStandardName))
        facts.define(TLSFactKey.cipherVersion, context.string(tls.cipherVersion))
        facts.define(TLSFactKey.authorized, context.bool(tls.authorized))
        facts.define(TLSFactKey.authorizationError, tls.authorizationError.map(context.string) ?? context.undefined)
        facts.define(
            TLSFactKey.peerCertificate, tls.peerCertificate.map { peerCertificate($0, in: context) } ?? context.null)
        return facts.take()
    }

    /// The client's certificate, with `subject` and `issuer` as flat [key, value, …] arrays (tls.js makes Node's
    /// objects of them), `subjectaltname` a string or undefined and `raw` a Buffer holding a copy of the DER bytes.
    private func peerCertificate(_ certificate: PeerCertificate, in context: JSContext) -> JSRef {
        guard let classes = bufferClasses else { preconditionFailure("the globals registered no Buffer") }
        var object = DataObject(context.newObject(), in: context)
        object.define(TLSFactKey.subject, namePairs(certificate.subject, in: context))
        object.define(TLSFactKey.issuer, namePairs(certificate.issuer, in: context))
        object.define(TLSFactKey.subjectAltName, certificate.subjectAltName.map(context.string) ?? context.undefined)
        object.define(TLSFactKey.validFrom, context.string(certificate.validFrom))
        object.define(TLSFactKey.validTo, context.string(certificate.validTo))
        object.define(TLSFactKey.serialNumber, context.string(certificate.serialNumber))
        object.define(TLSFactKey.fingerprint, context.string(certificate.fingerprint))
        object.define(TLSFactKey.fingerprint256, context.string(certificate.fingerprint256))
        if object.isMade {
            let raw = certificate.raw.span.bytes.withUnsafeBytes { bytes in
                unsafe context.newUint8Array(copying: bytes, constructor: classes.uint8Array, newTarget: classes.buffer)
            }
            object.define(TLSFactKey.raw, raw)
        }
        return object.take()
    }

    private func namePairs(_ pairs: [(String, String)], in context: JSContext) -> JSRef {
        var array = DataObject(context.newArray(), in: context)
        for (index, (key, value)) in pairs.enumerated() where array.isMade {
            array.define(index: 2 * index, context.string(key))
            array.define(index: 2 * index + 1, context.string(value))
        }
        return array.take()
    }

    private func stringOrFalse(_ text: String?, in context: JSContext) -> JSRef {
        guard let text else { return context.bool(false) }
        return context.string(text)
    }
}

/// An object or array being filled with data properties, as CreateDataProperty defines them: setters a handler put on
/// Object.prototype neither run nor change what is read back. The first value or property that runs out of memory
/// leaves its exception pending and stops the filling; `take()` then gives the exception marker.
private struct DataObject: ~Copyable {
    private let context: JSContext
    private var object: JSRef
    private(set) var isMade: Bool

    init(_ object: consuming JSRef, in context: JSContext) {
        isMade = !object.isException
        self.object = object
        self.context = context
    }

    mutating func define(_ key: ArraySlice<UInt8>, _ value: consuming JSRef) {
        guard isMade, !value.isException else {
            isMade = false
            return
        }
        isMade = context.defineProperty(object, wtf8Key: key, value)
    }

    mutating func define(index: Int, _ value: consuming JSRef) {
        guard isMade, !value.isException else {
            isMade = false
            return
        }
        isMade = context.defineProperty(object, index: UInt32(index), value)
    }

    consuming func take() -> JSRef { isMade ? object : context.exceptionMarker }
}

/// The facts object's keys, in the WTF-8 form `JSContext.defineProperty` takes; tls.js reads the same names.
private enum TLSFactKey {
    static let servername = key("servername")
    static let alpnProtocol = key("alpnProtocol")
    static let protocolVersion = key("protocol")
    static let cipherName = key("cipherName")
    static let cipherStandardName = key("cipherStandardName")
    static let cipherVersion = key("cipherVersion")
    static let authorized = key("authorized")
    static let authorizationError = key("authorizationError")
    static let peerCertificate = key("peerCertificate")
    static let subject = key("subject")
    static let issuer = key("issuer")
    static let subjectAltName = key("subjectaltname")
    static let validFrom = key("valid_from")
    static let validTo = key("valid_to")
    static let serialNumber = key("serialNumber")
    static let fingerprint = key("fingerprint")
    static let fingerprint256 = key("fingerprint256")
    static let raw = key("raw")

    private static func key(_ name: String) -> ArraySlice<UInt8> { ArraySlice(name.utf8) }
}
