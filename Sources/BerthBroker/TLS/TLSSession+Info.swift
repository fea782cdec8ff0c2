import BerthPlan
import BerthRuntime
import BerthTLS

extension TLSSession {
    /// What the handshake agreed, in the runtime's terms (`conn.servername`, `getCipher()`, `authorized`, …).
    var connectionInfo: TLSConnectionInfo {
        let cipher = cipher
        let peer = peerCertificate
        // As Node: `authorized` only means something when client certificates were asked for.
        let verifyError = context.settings.clientAuthority == nil ? nil : self.verifyError
        return TLSConnectionInfo(
            serverName: serverName, alpnProtocol: alpnProtocol, protocolVersion: protocolVersion,
            cipherName: cipher.name, cipherStandardName: cipher.standardName, cipherVersion: cipher.version,
            authorized: context.settings.clientAuthority != nil && verifyError == nil,
            authorizationError: verifyError,
            peerCertificate: peer.map {
                PeerCertificate(
                    subject: $0.subjectAttributes, issuer: $0.issuerAttributes, subjectAltName: $0.subjectAltNameText,
                    validFrom: $0.validFromText, validTo: $0.validToText, serialNumber: $0.serialNumberHex,
                    fingerprint: $0.fingerprint(sha256: false), fingerprint256: $0.fingerprint(sha256: true), raw: $0.der)
            })
    }
}
