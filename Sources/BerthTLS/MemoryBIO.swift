internal import COpenSSL

/// An OpenSSL memory BIO holding its own copy of the bytes it reads from, or collecting what OpenSSL writes to it.
@safe final class MemoryBIO {
    let raw: OpaquePointer  // BIO*, owned

    init() {
        guard let raw = unsafe BIO_new(BIO_s_mem()) else { preconditionFailure("BIO_new: out of memory") }
        unsafe self.raw = raw
    }

    convenience init(copying bytes: [UInt8]) {
        self.init()
        let written = unsafe bytes.withUnsafeBytes { unsafe BIO_write(raw, $0.baseAddress, Int32($0.count)) }
        // A memory BIO only fails to take bytes when allocation fails; an empty write returns 0.
        precondition(written == bytes.count || bytes.isEmpty, "BIO_write: out of memory")
    }

    deinit { unsafe BIO_free(raw) }

    /// Everything written to the BIO so far, as UTF-8 (invalid sequences repaired).
    func text() -> String {
        let count = unsafe BIO_ctrl_pending(raw)
        let bytes = unsafe [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = max(0, Int(unsafe BIO_read(raw, buffer.baseAddress, Int32(count))))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A pem_password_cb that refuses every passphrase request, noting it in the `Bool` that `flag` points at (if any);
/// passing nil instead would make OpenSSL prompt on the terminal.
func refusePassphrase(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int32, _ forWriting: Int32, _ flag: UnsafeMutableRawPointer?
) -> Int32 {
    unsafe flag?.storeBytes(of: true, as: Bool.self)
    return -1
}
