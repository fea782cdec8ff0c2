internal import CLibUV
internal import Glibc
internal import Synchronization

/// One libuv loop (its own, never `uv_default_loop`) and the thread-safe inbox into it. Everything except `execute`
/// belongs to the thread inside `run()` (or, while nobody runs it, to whoever holds it), as do all handles on it.
@safe package final class EventLoop: @unchecked Sendable {  // shared across threads only for `execute` (a Mutex)
    /// Bytes each read may fill: the largest UDP datagram fits, and libuv suggests this size for streams.
    package static let readBufferSize = 64 * 1024

    let raw: UnsafeMutablePointer<uv_loop_t>
    private let inboxHandle: UnsafeMutablePointer<uv_async_t>
    private let inbox = Mutex(Inbox())
    /// Jobs being run; swapped with the inbox's array so neither reallocates in a steady state.
    private var draining: [@Sendable () -> Void] = []
    /// The pthread inside `run()`, or 0: the debug check behind every loop-confined call.
    private let runningThread = Atomic<UInt>(0)
    private(set) var isRunning = false
    /// True once `close()` returned: the loop and its memory are gone.
    package private(set) var isClosed = false

    /// The one read buffer of this loop, handed to every read (it lives in `raw.pointee.data`).
    let readBuffer: UnsafeMutableRawBufferPointer
    /// A descriptor held back for the descriptor limit (EventLoop+Descriptors.swift), or -1.
    var descriptorReserve: Int32 = -1
    /// Set while listeners find the process out of descriptors; cleared by the next accepted connection.
    var isOutOfDescriptors = false

    private struct Inbox {
        var jobs: [@Sendable () -> Void] = []
        var isClosed = false
    }

    /// Also ignores SIGPIPE process-wide, as Node does: a write to a reset peer then fails with EPIPE instead of
    /// killing the broker.
    package init() throws(LoopError) {
        unsafe raw = allocateZeroed(uv_loop_t.self)
        do { try uv(unsafe uv_loop_init(raw), "uv_loop_init") } catch {
            unsafe raw.deallocate()
            throw error
        }
        unsafe inboxHandle = allocateZeroed(uv_async_t.self)
        unsafe readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        unsafe raw.pointee.data = readBuffer.baseAddress
        _ = signal(SIGPIPE, SIG_IGN)
        let status = unsafe uv_async_init(raw, inboxHandle) { async in
            guard let async = unsafe async else { return }
            unsafe Unmanaged<EventLoop>.fromOpaque(async.pointee.data).takeUnretainedValue().drainInbox()
        }
        precondition(status == 0, "uv_async_init cannot fail on a fresh loop")
        // Not retained: close() closes the inbox before the loop goes away, and deinit calls close().
        unsafe inboxHandle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        inboxKeepsLoopAlive = false
    }

    deinit {
        // Every handle owner holds its loop, so only the inbox can still be open here.
        if !isClosed { close() }
    }

    /// Runs callbacks until `stop()` or until no active, referenced handle or request is left.
    package func run() {
        _ = runLoop(UV_RUN_DEFAULT)
    }

    /// One turn of the loop: waits for at least one event when `waiting`, else only polls. Returns whether anything
    /// is still alive; tests use it to step the loop.
    @discardableResult
    package func runOnce(waiting: Bool = true) -> Bool {
        runLoop(waiting ? UV_RUN_ONCE : UV_RUN_NOWAIT)
    }

    private func runLoop(_ mode: uv_run_mode) -> Bool {
        precondition(!isClosed, "EventLoop.run after close()")
        precondition(!isRunning, "EventLoop.run is not reentrant")
        isRunning = true
        runningThread.store(Self.currentThread, ordering: .releasing)
        defer {
            runningThread.store(0, ordering: .releasing)
            isRunning = false
        }
        return unsafe uv_run(raw, mode) != 0
    }

    /// Makes `run()` return after the current callback; loop thread only (from elsewhere: `execute { loop.stop() }`).
    package func stop() {
        assertInLoopThread()
        guard !isClosed else { return }
        unsafe uv_stop(raw)
    }

    /// The loop's cached clock in milliseconds, taken at the start of this turn (libuv's `uv_now`).
    package var now: UInt64 {
        assertInLoopThread()
        precondition(!isClosed, "EventLoop.now after close()")
        return unsafe uv_now(raw)
    }

    /// A monotonic clock in nanoseconds, independent of any loop (`uv_hrtime`).
    package static var monotonicNanoseconds: UInt64 { uv_hrtime() }

    /// Whether a pending inbox keeps `run()` from returning; false by default (like Node's async handles), true for a
    /// loop thread that must wait for jobs with nothing else open.
    package var inboxKeepsLoopAlive: Bool {
        get { unsafe !isClosed && handleKeepsLoopAlive(handlePointer(inboxHandle)) }
        set {
            assertInLoopThread()
            guard !isClosed else { return }
            unsafe setHandleKeepsLoopAlive(handlePointer(inboxHandle), newValue)
        }
    }

    /// Queues `job` to run on the loop thread, in submission order; callable from any thread. Returns false, and
    /// drops the job, once the loop is closed. A job waits while nobody runs the loop, and while nothing keeps it
    /// alive (libuv does not poll an idle loop): set `inboxKeepsLoopAlive` on a loop that must wait for jobs.
    @discardableResult
    package func execute(_ job: @escaping @Sendable () -> Void) -> Bool {
        inbox.withLock { inbox in
            guard !inbox.isClosed else { return false }
            inbox.jobs.append(job)
            // Under the lock, so close() cannot free the handle in between; uv_async_send is async-signal-safe.
            _ = unsafe uv_async_send(inboxHandle)
            return true
        }
    }

    private func drainInbox() {
        inbox.withLock { swap(&$0.jobs, &draining) }
        for job in draining { job() }
        draining.removeAll(keepingCapacity: true)
    }

    /// Closes every handle still open (their owners see their usual close callbacks), finishes those closes, and
    /// frees the loop. Call it after `run()` returned, on the thread that ran it; idempotent.
    package func close() {
        precondition(!isRunning, "EventLoop.close() inside run(): stop() first")
        guard !isClosed else { return }
        inbox.withLock { inbox in
            inbox.isClosed = true
            swap(&inbox.jobs, &draining)
        }
        // Dropped outside the lock: a job's captures may deinit into code that calls execute().
        draining = []
        unsafe closeUnadopted(handlePointer(inboxHandle))
        // A close callback may open new handles (a delegate starting a timer): walk until none is left.
        while unsafe Self.handles(on: raw).count > 0 {
            let owners = unsafe Self.handles(on: raw).compactMap { handle -> (any LoopHandleOwner)? in
                guard unsafe uv_is_closing(handle) == 0 else { return nil }
                guard let owner = unsafe owner(of: handle, as: AnyObject.self) as? any LoopHandleOwner else {
                    preconditionFailure("a handle on an EventLoop without an owner")
                }
                return owner
            }
            for owner in owners { owner.close() }
            _ = unsafe uv_run(raw, UV_RUN_DEFAULT)
        }
        if descriptorReserve != -1 { Glibc.close(descriptorReserve) }
        let status = unsafe uv_loop_close(raw)
        precondition(status == 0, "uv_loop_close: \(LoopError(status: status, operation: "uv_loop_close"))")
        unsafe raw.deallocate()
        unsafe readBuffer.deallocate()
        isClosed = true
    }

    /// How many handles the loop holds besides its inbox, closing ones included (0 once closed).
    package var handleCount: Int {
        assertInLoopThread()
        return isClosed ? 0 : unsafe Self.handles(on: raw).count - 1
    }

    /// Every handle on `loop` (libuv's internal ones excluded), collected first so callers may close them.
    private static func handles(on loop: UnsafeMutablePointer<uv_loop_t>) -> [UnsafeMutablePointer<uv_handle_t>] {
        typealias Handles = [UnsafeMutablePointer<uv_handle_t>]
        var found: Handles = unsafe []
        unsafe withUnsafeMutablePointer(to: &found) { found in
            let collect: uv_walk_cb = { handle, found in
                guard let handle = unsafe handle, let found = unsafe found else { return }
                unsafe found.assumingMemoryBound(to: Handles.self).pointee.append(handle)
            }
            unsafe uv_walk(loop, collect, found)
        }
        return unsafe found
    }

    /// Whether the caller may touch this loop's handles: it is the thread in `run()`, or nobody runs the loop.
    package var isInLoopThread: Bool {
        let thread = runningThread.load(ordering: .acquiring)
        return thread == 0 || thread == Self.currentThread
    }

    /// Debug-only check that a loop-confined call comes from the loop thread.
    @inline(__always)
    func assertInLoopThread() {
        assert(isInLoopThread, "a loop-confined object was used off its loop thread")
    }

    private static var currentThread: UInt { pthread_self() }
}
