internal import CLibUV

/// A class that owns one libuv handle. libuv's `data` field holds the owner, retained from `adopt` until the close
/// callback, so dropping the last Swift reference never frees memory libuv still points to.
protocol LoopHandleOwner: AnyObject {
    /// Starts closing the handle; idempotent. `EventLoop.close()` calls it on every handle still open.
    func close()
    /// Runs once, from the close callback, after libuv let go of the handle and before its memory is freed.
    func handleDidClose()
}

/// Zeroed heap memory for a libuv handle or request: libuv keeps pointers into it, so it must never move.
func allocateZeroed<Handle>(_ type: Handle.Type) -> UnsafeMutablePointer<Handle> {
    let raw = UnsafeMutableRawPointer.allocate(
        byteCount: MemoryLayout<Handle>.size, alignment: MemoryLayout<Handle>.alignment)
    unsafe raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Handle>.size)
    return unsafe raw.bindMemory(to: Handle.self, capacity: 1)
}

/// A typed handle (`uv_tcp_t*`, `uv_timer_t*`, …) as the `uv_handle_t*` every libuv handle starts with.
func handlePointer<Handle>(_ handle: UnsafeMutablePointer<Handle>) -> UnsafeMutablePointer<uv_handle_t> {
    unsafe UnsafeMutablePointer<uv_handle_t>(OpaquePointer(handle))
}

/// A TCP handle as the `uv_stream_t*` the stream functions take.
func streamPointer(_ handle: UnsafeMutablePointer<uv_tcp_t>) -> UnsafeMutablePointer<uv_stream_t> {
    unsafe UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handle))
}

/// Makes `owner` reachable from the handle and keeps it alive until `closeHandle`'s callback.
func adopt(_ handle: UnsafeMutablePointer<uv_handle_t>, by owner: some LoopHandleOwner) {
    unsafe handle.pointee.data = Unmanaged.passRetained(owner as AnyObject).toOpaque()
}

/// The owner stored by `adopt`, not retained: callbacks use it only while libuv holds the handle.
func owner<Owner: AnyObject>(of handle: UnsafePointer<uv_handle_t>, as type: Owner.Type) -> Owner {
    unsafe Unmanaged<Owner>.fromOpaque(handle.pointee.data).takeUnretainedValue()
}

/// Closes an adopted handle (see `handleDidCloseCallback`).
func closeHandle(_ handle: UnsafeMutablePointer<uv_handle_t>) {
    unsafe uv_close(handle, handleDidCloseCallback)
}

/// The close callback of every adopted handle: tells the owner, frees the handle's memory, releases the owner.
let handleDidCloseCallback: uv_close_cb = { handle in
    guard let handle = unsafe handle else { return }
    let retained = unsafe Unmanaged<AnyObject>.fromOpaque(handle.pointee.data).takeRetainedValue()
    guard let owner = retained as? any LoopHandleOwner else { preconditionFailure("libuv handle without owner") }
    owner.handleDidClose()
    unsafe UnsafeMutableRawPointer(handle).deallocate()
}

/// Closes a handle nobody adopted (its initialization failed half-way) and frees its memory.
func closeUnadopted(_ handle: UnsafeMutablePointer<uv_handle_t>) {
    unsafe handle.pointee.data = nil
    unsafe uv_close(handle) { handle in unsafe UnsafeMutableRawPointer(handle)?.deallocate() }
}

/// Whether an active handle keeps `EventLoop.run()` from returning (uv_has_ref).
func handleKeepsLoopAlive(_ handle: UnsafeMutablePointer<uv_handle_t>) -> Bool { unsafe uv_has_ref(handle) != 0 }

/// uv_ref / uv_unref: a handle that does not keep the loop alive lets `run()` return while it is still active.
func setHandleKeepsLoopAlive(_ handle: UnsafeMutablePointer<uv_handle_t>, _ keeps: Bool) {
    if keeps { unsafe uv_ref(handle) } else { unsafe uv_unref(handle) }
}
