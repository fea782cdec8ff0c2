internal import CQuickJS
internal import Glibc

/// A QuickJS runtime: one heap with a byte limit, one garbage collector, one stack budget, one job queue. It is not
/// thread-safe: one thread at a time uses it and the contexts on it, and calls `enter()` first.
@safe final class JSRuntime {
    let raw: OpaquePointer
    /// Most stack QuickJS may use below the frame that called `enter()`, in bytes.
    private let stackBudget: Int
    /// Allocation failures, counted by berth's allocator: QuickJS turns them into catchable exceptions, so the count
    /// is the only reliable sign that the heap limit was hit.
    private let ledger = HeapLedger()
    /// Monotonic instant (CLOCK_MONOTONIC, nanoseconds) after which running JavaScript is interrupted; nil: never.
    private var deadline: UInt64?
    /// Set when the interrupt handler stopped JavaScript since the last `arm`; cleared by `arm`.
    private(set) var wasInterrupted = false

    /// `memoryLimit` bounds QuickJS's heap (allocation failures become `InternalError: out of memory`); `stackBudget`
    /// bounds its recursion (the parser and interpreter throw "stack overflow" instead of overrunning the stack).
    init(memoryLimit: Int, stackBudget: Int) {
        var functions = unsafe JSMallocFunctions(
            js_malloc: heapMalloc, js_free: heapFree, js_realloc: heapRealloc, js_malloc_usable_size: heapUsableSize)
        let ledger = unsafe Unmanaged.passUnretained(self.ledger).toOpaque()
        guard let raw = unsafe JS_NewRuntime2(&functions, ledger) else {
            preconditionFailure("QuickJS could not allocate a runtime")
        }
        unsafe self.raw = raw
        self.stackBudget = stackBudget
        unsafe JS_SetMemoryLimit(raw, memoryLimit)
        let opaque = unsafe Unmanaged.passUnretained(self).toOpaque()
        unsafe JS_SetInterruptHandler(raw, interruptHandler, opaque)
        unsafe JS_SetHostPromiseRejectionTracker(raw, rejectionTracker, nil)
        enter()
    }

    /// Frees the runtime; every context and every value on it must be gone (QuickJS asserts it).
    deinit { unsafe JS_FreeRuntime(raw) }

    /// Re-anchors QuickJS's stack check at the caller's frame, on the caller's thread: QuickJS measures its stack from
    /// the frame that last set it, so every entry from Swift (possibly from another thread) starts here. The budget
    /// shrinks when the thread has less stack left than `stackBudget`, so the check always fires before the guard page.
    func enter() {
        var budget = stackBudget
        if let remaining = remainingStack() {
            let margin = 64 * 1024  // Swift frames between the check and the real end: the loader, file reads
            budget = min(budget, max(remaining - margin, 16 * 1024))
        }
        unsafe JS_SetMaxStackSize(raw, budget)
        unsafe JS_UpdateStackTop(raw)
    }

    /// Bytes of stack between this frame and the lowest address of the current thread's stack.
    private func remainingStack() -> Int? {
        let low = cqjs_thread_stack_low()
        var marker = 0
        let here = unsafe withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        return low != 0 && here > low ? Int(here - low) : nil
    }

    // MARK: CPU budget

    /// Interrupts JavaScript that is still running `milliseconds` from now: QuickJS then throws an uncatchable
    /// `InternalError: interrupted` from wherever it is. Clears `wasInterrupted`.
    func arm(milliseconds: Double) {
        wasInterrupted = false
        deadline = Self.monotonicNanoseconds() &+ UInt64(max(milliseconds, 0) * 1_000_000)
    }

    /// Lets JavaScript run without a deadline (outside dispatches: nothing runs then anyway).
    func disarm() { deadline = nil }

    /// Called by QuickJS every few thousand instructions: true stops the running code.
    fileprivate func shouldInterrupt() -> Bool {
        guard let deadline, Self.monotonicNanoseconds() >= deadline else { return false }
        wasInterrupted = true
        return true
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        unsafe clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    // MARK: Heap

    /// How many allocations failed since the runtime was made: at the memory limit, or malloc returning NULL.
    var allocationFailures: Int { ledger.failures }

    /// Bytes QuickJS holds on its heap now, as its limit counts them.
    var heapBytes: Int {
        var usage = JSMemoryUsage()
        unsafe JS_ComputeMemoryUsage(raw, &usage)
        return Int(usage.malloc_size)
    }

    func collectGarbage() { unsafe JS_RunGC(raw) }

    // MARK: Jobs

    /// Runs queued jobs (promise reactions, microtasks) until none is left, including the ones they queue. A job that
    /// throws hands its context to `failed`, which must take the exception; the next job runs after it.
    func executePendingJobs(_ failed: (JSContext) -> Void) {
        while true {
            var context: OpaquePointer?
            let status = unsafe JS_ExecutePendingJob(raw, &context)
            if status == 0 { return }
            if status < 0, let context = unsafe context { failed(unsafe JSContext.owner(of: context)) }
        }
    }
}

/// Counts failed allocations for one runtime; QuickJS's allocator callbacks reach it through the malloc state's opaque.
private final class HeapLedger {
    var failures = 0
}

// berth's allocator: QuickJS's default one (malloc and a byte limit), plus a count of the allocations it refused.
// QuickJS keeps `malloc_size` and `malloc_count` in the state only through these functions. As in QuickJS, a limit
// of 0 means none: the comparison is against `limit - 1`, which wraps to the largest size.

/// Bytes counted per block on top of its usable size, as QuickJS's own allocator counts them.
private let blockOverhead = 8

/// Whether `malloc_size + growth` stays within the limit, compared unsigned as QuickJS compares it.
private func fits(_ state: UnsafeMutablePointer<JSMallocState>, growing growth: Int) -> Bool {
    let size = unsafe UInt(bitPattern: state.pointee.malloc_size &+ growth)
    let limit = unsafe UInt(bitPattern: state.pointee.malloc_limit)
    return size <= limit &- 1
}

private func noteFailure(_ state: UnsafeMutablePointer<JSMallocState>) {
    guard let opaque = unsafe state.pointee.opaque else { return }
    unsafe Unmanaged<HeapLedger>.fromOpaque(opaque).takeUnretainedValue().failures += 1
}

private func heapMalloc(_ state: UnsafeMutablePointer<JSMallocState>?, _ size: Int) -> UnsafeMutableRawPointer? {
    guard let state = unsafe state else { return nil }
    guard unsafe fits(state, growing: size), let block = unsafe malloc(size) else {
        unsafe noteFailure(state)
        return nil
    }
    unsafe state.pointee.malloc_count += 1
    unsafe state.pointee.malloc_size += cqjs_malloc_usable_size(block) + blockOverhead
    return unsafe block
}

private func heapFree(_ state: UnsafeMutablePointer<JSMallocState>?, _ block: UnsafeMutableRawPointer?) {
    guard let state = unsafe state, let block = unsafe block else { return }
    unsafe state.pointee.malloc_count -= 1
    unsafe state.pointee.malloc_size -= cqjs_malloc_usable_size(block) + blockOverhead
    unsafe free(block)
}

private func heapRealloc(
    _ state: UnsafeMutablePointer<JSMallocState>?, _ block: UnsafeMutableRawPointer?, _ size: Int
) -> UnsafeMutableRawPointer? {
    guard let state = unsafe state else { return nil }
    guard let block = unsafe block else { return size == 0 ? nil : unsafe heapMalloc(state, size) }
    if size == 0 {
        unsafe heapFree(state, block)
        return nil
    }
    let old = unsafe cqjs_malloc_usable_size(block)
    guard unsafe fits(state, growing: size - old),
        let grown = unsafe realloc(block, size)
    else {
        unsafe noteFailure(state)
        return nil
    }
    unsafe state.pointee.malloc_size += cqjs_malloc_usable_size(grown) - old
    return unsafe grown
}

private func heapUsableSize(_ block: UnsafeRawPointer?) -> Int {
    guard let block = unsafe block else { return 0 }
    return unsafe cqjs_malloc_usable_size(UnsafeMutableRawPointer(mutating: block))
}

/// QuickJS's interrupt callback: finds its runtime through the opaque pointer.
private func interruptHandler(_ runtime: OpaquePointer?, _ opaque: UnsafeMutableRawPointer?) -> Int32 {
    guard let opaque = unsafe opaque else { return 0 }
    return unsafe Unmanaged<JSRuntime>.fromOpaque(opaque).takeUnretainedValue().shouldInterrupt() ? 1 : 0
}

/// QuickJS's promise rejection tracker: a rejection without a handler, or a handler added to a rejected promise.
private func rejectionTracker(
    _ ctx: OpaquePointer?, _ promise: JSValue, _ reason: JSValue, _ isHandled: Int32, _ opaque: UnsafeMutableRawPointer?
) {
    guard let ctx = unsafe ctx else { return }
    unsafe JSContext.owner(of: ctx).trackRejection(promise: promise, reason: reason, isHandled: isHandled != 0)
}
