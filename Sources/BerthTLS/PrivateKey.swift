internal import COpenSSL

/// A private key (RSA, EC, Ed25519, … in any PEM format OpenSSL reads), owning one reference to its `EVP_PKEY`.
@safe package final class PrivateKey {
    let raw: OpaquePointer  // EVP_PKEY*, owned

    /// Reads the first private key in `pem`; encrypted keys are refused rather than prompting for a passphrase.
    package init(pem: [UInt8]) throws(PrivateKeyDecodingError) {
        ERR_clear_error()  // as in Certificate.readAll: only this read's errors describe this file
        let bio = MemoryBIO(copying: pem)
        var askedForPassphrase = false
        let raw = unsafe withUnsafeMutablePointer(to: &askedForPassphrase) {
            unsafe PEM_read_bio_PrivateKey(bio.raw, nil, refusePassphrase, $0)
        }
        guard let raw = unsafe raw else {
            let error = OpenSSLError.drain("PEM_read_bio_PrivateKey")
            throw askedForPassphrase ? .encrypted : .undecodable(error)
        }
        unsafe self.raw = raw
    }

    deinit { unsafe EVP_PKEY_free(raw) }

    /// The algorithm as OpenSSL names it: "RSA", "EC", "ED25519", ….
    package var algorithm: String {
        guard let name = unsafe EVP_PKEY_get0_type_name(raw) else { return "unknown" }
        return unsafe String(cString: name)
    }

    /// True when this is the private half of `certificate`'s public key.
    package func matches(_ certificate: Certificate) -> Bool {
        let matched = unsafe X509_check_private_key(certificate.raw, raw) == 1
        // A mismatch leaves "key values mismatch" on the queue; it is the answer, not a failure to report later.
        if !matched { _ = OpenSSLError.drain("X509_check_private_key") }
        return matched
    }
}

/// Why a PEM private key could not be read.
package enum PrivateKeyDecodingError: Error, Hashable, Sendable {
    case encrypted
    case undecodable(OpenSSLError)
}
