internal import COpenSSL

/// A failed OpenSSL call: the operation, and the thread's error queue at that moment, oldest first, in words.
package struct OpenSSLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One entry of the error queue: OpenSSL's packed code and its library and reason strings.
    package struct Entry: Hashable, Sendable {
        package var code: UInt
        package var library: String  // "PEM routines", "asn1 encoding routines", …
        package var reason: String  // "bad base64 decode", "wrong tag", …

        /// The reason, reworded where OpenSSL's own word says nothing to someone holding the file.
        var plainReason: String {
            let decoderFoundNothing =
                ERR_GET_LIB(code) == ERR_LIB_OSSL_DECODER && ERR_GET_REASON(code) == ERR_R_UNSUPPORTED
            return decoderFoundNothing ? "OpenSSL recognizes no key or certificate encoding in it" : reason
        }
    }

    package var operation: String
    package var entries: [Entry]

    /// The reasons a reader can act on, joined; entries that only say where a failure surfaced ("nested asn1 error",
    /// a decoder's "unsupported") are left out when a more specific one exists.
    package var reasons: String {
        let specific = entries.filter { !Self.genericReasons.contains(Int(ERR_GET_REASON($0.code))) }
        let chosen = specific.isEmpty ? entries : specific
        if chosen.isEmpty { return "unknown OpenSSL error" }
        var seen = Set<String>()
        return chosen.map(\.plainReason).filter { seen.insert($0).inserted }.joined(separator: "; ")
    }

    package var description: String { "\(operation): \(reasons)" }

    /// True when the only failure is that no further PEM block of the wanted type exists (the normal end of a file).
    package var isEndOfPEMInput: Bool {
        guard let last = entries.last else { return false }
        return ERR_GET_LIB(last.code) == ERR_LIB_PEM && ERR_GET_REASON(last.code) == PEM_R_NO_START_LINE
    }

    /// Empties this thread's OpenSSL error queue into an error naming `operation`: the one reader of ERR_get_error.
    package static func drain(_ operation: String) -> OpenSSLError {
        var entries: [Entry] = []
        while case let code = ERR_get_error(), code != 0 {
            let library = unsafe ERR_lib_error_string(code).map { unsafe String(cString: $0) }
            let reason = unsafe ERR_reason_error_string(code).map { unsafe String(cString: $0) }
            entries.append(
                Entry(
                    code: code, library: library ?? "library \(ERR_GET_LIB(code))",
                    reason: reason ?? "reason \(ERR_GET_REASON(code))"))
        }
        return OpenSSLError(operation: operation, entries: entries)
    }

    /// Reasons that only report that a lower layer failed; the lower layer's own entry says why.
    private static let genericReasons: Set<Int> = [
        ERR_R_NESTED_ASN1_ERROR, ERR_R_UNSUPPORTED, ERR_R_ASN1_LIB, ERR_R_PEM_LIB, ERR_R_EVP_LIB, ERR_R_X509_LIB,
        ERR_R_SYS_LIB,
    ]
}
