internal import CLibUV

/// A failed libuv operation: the error's name (`ECONNRESET`), its text, and the call that reported it.
package struct LoopError: Error, Hashable, Sendable, CustomStringConvertible {
    package var code: String  // uv_err_name: "EADDRINUSE", "ECONNRESET", "ECANCELED", …
    package var message: String  // uv_strerror: "address already in use", …
    package var operation: String  // the libuv call: "uv_listen", "uv_write", …

    package init(code: String, message: String, operation: String) {
        (self.code, self.message, self.operation) = (code, message, operation)
    }

    /// Names a negative libuv status; the one place libuv's codes become Swift values.
    init(status: Int32, operation: String) {
        self.init(
            code: unsafe String(cString: uv_err_name(status)), message: unsafe String(cString: uv_strerror(status)),
            operation: operation)
    }

    package var description: String { "\(operation): \(message) (\(code))" }

    /// True for the status libuv gives requests that `close()` discarded: an outcome, not a fault.
    package var isCancellation: Bool { code == "ECANCELED" }
}

/// Throws for a negative libuv status; returns a non-negative one.
@discardableResult
func uv(_ status: Int32, _ operation: String) throws(LoopError) -> Int32 {
    if status < 0 { throw LoopError(status: status, operation: operation) }
    return status
}
