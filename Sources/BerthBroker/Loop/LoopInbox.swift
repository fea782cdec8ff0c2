internal import CLibUV
internal import Synchronization

/// Hands values from any thread to a closure on the loop thread, in the order they were posted: how work done off the
/// loop (a compile on a Dispatch queue) returns its result. Unlike `EventLoop.execute`'s jobs, `receive` need not be
/// `@Sendable` (it runs only on the loop thread, so it may use the loop's objects), and `close()` drops what is left.
@safe package final class LoopInbox<Message: Sendable>: LoopHandleOwner, InboxDraining, @unchecked Sendable {
    // Sendable because other threads only `post`, which touches `pending` (a Mutex) and, under it, `uv_async_send`;
    // every other member belongs to the loop thread (asserted).
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_async_t>
    private let pending = Mutex(Pending())
    private var receive: ((Message) -> Void)?
    /// Messages being delivered; swapped with the pending array so neither reallocates in a steady state.
    private var delivering: [Message] = []
    private var isClosing = false

    private struct Pending {
        var messages: [Message] = []
        var isClosed = false
    }

    /// Opens the inbox on the loop thread; `receive` runs there for every posted message, until `close()`.
    package init(loop: EventLoop, receive: @escaping (Message) -> Void) throws(LoopError) {
        loop.assertInLoopThread()
        let handle = unsafe allocateZeroed(uv_async_t.self)
        let status = unsafe uv_async_init(loop.raw, handle, inboxDidWake)
        if status < 0 {
            unsafe handle.deallocate()  // never registered with the loop
            throw LoopError(status: status, operation: "uv_async_init")
        }
        unsafe self.handle = handle
        self.loop = loop
        self.receive = receive
        unsafe adopt(handlePointer(handle), by: self)
        unsafe setHandleKeepsLoopAlive(handlePointer(handle), false)
    }

    /// Queues `message` for `receive`; callable from any thread. Returns false, and drops the message, once `close()`
    /// ran. A message waits while nobody runs the loop, and while nothing keeps it alive (see `keepsLoopAlive`).
    @discardableResult
    package func post(_ message: Message) -> Bool {
        pending.withLock { pending in
            guard !pending.isClosed else { return false }
            pending.messages.append(message)
            // Under the lock, so close() cannot free the handle in between; uv_async_send is async-signal-safe.
            _ = unsafe uv_async_send(handle)
            return true
        }
    }

    fileprivate func drain() {
        pending.withLock { swap(&$0.messages, &delivering) }
        for message in delivering {
            guard !isClosing, let receive else { break }  // close() from `receive` drops the rest
            receive(message)
        }
        delivering.removeAll(keepingCapacity: true)
    }

    /// Whether the open inbox keeps `EventLoop.run()` from returning (uv_ref / uv_unref), waiting or not; false by
    /// default, like the loop's own inbox: set it while the loop must wait for a message with nothing else open.
    package var keepsLoopAlive: Bool {
        get { unsafe !isClosing && handleKeepsLoopAlive(handlePointer(handle)) }
        set {
            loop.assertInLoopThread()
            guard !isClosing else { return }
            unsafe setHandleKeepsLoopAlive(handlePointer(handle), newValue)
        }
    }

    /// Drops the messages not yet received, refuses later ones, and releases `receive` (no call follows, even from
    /// inside `receive`); loop thread only, idempotent.
    package func close() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        isClosing = true
        var dropped: [Message] = []
        pending.withLock { pending in
            pending.isClosed = true
            swap(&pending.messages, &dropped)
        }
        // Released outside the lock: a message's deinit may post again.
        dropped = []
        unsafe closeHandle(handlePointer(handle))
    }

    func handleDidClose() {
        receive = nil
        delivering = []
    }
}

/// What the wake-up callback needs of a `LoopInbox`: a C callback cannot name a generic class's parameters.
private protocol InboxDraining: AnyObject {
    func drain()
}

/// The async callback of every `LoopInbox`.
private let inboxDidWake: uv_async_cb = { handle in
    guard let handle = unsafe handle else { return }
    guard let inbox = unsafe owner(of: handlePointer(handle), as: AnyObject.self) as? any InboxDraining else {
        preconditionFailure("a LoopInbox handle without its inbox")
    }
    inbox.drain()
}
