internal import CLibUV

/// A libuv timer running a closure on its loop thread; kept alive by the loop until `close()`.
@safe package final class LoopTimer: LoopHandleOwner {
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_timer_t>
    /// The closure of the last `start`, released when the timer closes (which ends any cycle through it).
    private var fire: (() -> Void)?
    private var isClosing = false

    package init(loop: EventLoop) {
        loop.assertInLoopThread()
        let handle = unsafe allocateZeroed(uv_timer_t.self)
        precondition(unsafe uv_timer_init(loop.raw, handle) == 0, "uv_timer_init cannot fail")
        unsafe self.handle = handle
        self.loop = loop
        unsafe adopt(handlePointer(handle), by: self)
    }

    /// (Re)starts the timer: `fire` runs after `milliseconds`, then every `interval` ms if that is not 0. Timers due
    /// at the same time fire in the order they were started. No effect once closing.
    package func start(after milliseconds: UInt64, repeat interval: UInt64 = 0, _ fire: @escaping () -> Void) {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        self.fire = fire
        let status = unsafe uv_timer_start(
            handle,
            { handle in
                guard let handle = unsafe handle else { return }
                unsafe owner(of: handlePointer(handle), as: LoopTimer.self).fire?()
            }, milliseconds, interval)
        precondition(status == 0, "uv_timer_start on an open timer cannot fail")
    }

    /// Stops the timer; `start` may run it again.
    package func stop() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        _ = unsafe uv_timer_stop(handle)
    }

    /// Whether the timer is started and has not fired its last time.
    package var isActive: Bool {
        loop.assertInLoopThread()
        return unsafe !isClosing && uv_is_active(handlePointer(handle)) != 0
    }

    /// Whether an active timer keeps `EventLoop.run()` from returning (uv_ref / uv_unref); true by default.
    package var keepsLoopAlive: Bool {
        get { unsafe !isClosing && handleKeepsLoopAlive(handlePointer(handle)) }
        set {
            loop.assertInLoopThread()
            guard !isClosing else { return }
            unsafe setHandleKeepsLoopAlive(handlePointer(handle), newValue)
        }
    }

    /// Stops the timer for good and releases its closure; idempotent.
    package func close() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        isClosing = true
        unsafe closeHandle(handlePointer(handle))
    }

    func handleDidClose() { fire = nil }
}
