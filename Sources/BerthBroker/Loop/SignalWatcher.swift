internal import CLibUV

/// Runs a closure on the loop thread when the process receives a signal (SIGTERM, SIGINT…), until `close()`; while
/// any watcher for a signal is open, that signal no longer has its default effect.
@safe package final class SignalWatcher: LoopHandleOwner {
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private var handler: ((Int32) -> Void)?
    private var isClosing = false

    package init(loop: EventLoop, signal: Int32, _ handler: @escaping (Int32) -> Void) throws(LoopError) {
        loop.assertInLoopThread()
        let handle = unsafe allocateZeroed(uv_signal_t.self)
        let initialized = unsafe uv_signal_init(loop.raw, handle)
        if initialized < 0 {
            unsafe handle.deallocate()  // never registered with the loop
            throw LoopError(status: initialized, operation: "uv_signal_init")
        }
        let status = unsafe uv_signal_start(
            handle,
            { handle, signal in
                guard let handle = unsafe handle else { return }
                unsafe owner(of: handlePointer(handle), as: SignalWatcher.self).handler?(signal)
            }, signal)
        if status < 0 {
            unsafe closeUnadopted(handlePointer(handle))
            throw LoopError(status: status, operation: "uv_signal_start")
        }
        unsafe self.handle = handle
        self.loop = loop
        self.handler = handler
        unsafe adopt(handlePointer(handle), by: self)
    }

    /// Whether the watcher keeps `EventLoop.run()` from returning (uv_ref / uv_unref); true by default.
    package var keepsLoopAlive: Bool {
        get { unsafe !isClosing && handleKeepsLoopAlive(handlePointer(handle)) }
        set {
            loop.assertInLoopThread()
            guard !isClosing else { return }
            unsafe setHandleKeepsLoopAlive(handlePointer(handle), newValue)
        }
    }

    /// Stops watching (the signal's default action returns with the last watcher) and releases the handler.
    package func close() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        isClosing = true
        unsafe closeHandle(handlePointer(handle))
    }

    func handleDidClose() { handler = nil }
}
