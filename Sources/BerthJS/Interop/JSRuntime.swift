internal import CQuickJS
internal import Glibc

/// A QuickJS runtime: one heap with a byte limit, one garbage collector, one stack budget, one job queue. It is not
/// thread-safe: one thread at a time uses it and the contexts on it, and calls `enter()` first.
@safe package final class JSRuntime {
    package let raw: OpaquePointer
    /// Most stack QuickJS may use below the frame that called `enter()`, in bytes.
    private let stackBudget: Int
    /// Allocation failures and heap size, counted by berth's allocator (`cqjs_counting_allocator`): QuickJS turns
    /// failures into catchable exceptions, so the count is the only reliable sign that the heap limit was hit.
    private let heapCount: UnsafeMutablePointer<cqjs_heap_count>
    /// The heap limit in bytes, as given to `init`.
    package let memoryLimit: Int
    /// How many `withoutMemoryLimit` calls are running.
    private var liftDepth = 0
    /// Monotonic instant (CLOCK_MONOTONIC, nanoseconds) after which running JavaScript is interrupted; nil: never.
    /// This and `wasInterrupted` are set and read once per dispatch from the runtime's module, where the optimizer
    /// cannot prove their accesses apart (a dynamic exclusivity check each, 250 instructions per echo round trip with
    /// `JSContext`'s two); they are loop-confined scalars that no access holds across a call.
    @exclusivity(unchecked) private var deadline: UInt64?
    /// Set when the interrupt handler stopped JavaScript since the last `arm`; cleared by `arm`.
    @exclusivity(unchecked) package private(set) var wasInterrupted = false

    /// `memoryLimit` bounds QuickJS's heap (allocation failures become `InternalError: out of memory`); `stackBudget`
    /// bounds its recursion (the parser and interpreter throw "stack overflow" instead of overrunning the stack).
    package init(memoryLimit: Int, stackBudget: Int) {
        let heapCount = UnsafeMutablePointer<cqjs_heap_count>.allocate(capacity: 1)
        unsafe heapCount.initialize(to: cqjs_heap_count(failures: 0, bytes: 0))
        guard let raw = unsafe JS_NewRuntime2(cqjs_counting_allocator(), heapCount) else {
            preconditionFailure("QuickJS could not allocate a runtime")
        }
        unsafe self.heapCount = heapCount
        unsafe self.raw = raw
        self.stackBudget = stackBudget
        self.memoryLimit = memoryLimit
        unsafe JS_SetMemoryLimit(raw, memoryLimit)
        let opaque = unsafe Unmanaged.passUnretained(self).toOpaque()
        unsafe JS_SetInterruptHandler(raw, interruptHandler, opaque)
        unsafe JS_SetHostPromiseRejectionTracker(raw, rejectionTracker, nil)
        enter()
    }

    /// Frees the runtime; every context and every value on it must be gone (QuickJS asserts it).
    deinit {
        unsafe JS_FreeRuntime(raw)
        unsafe heapCount.deallocate()
    }

    /// Re-anchors QuickJS's stack check at the caller's frame, on the caller's thread: QuickJS measures its stack from
    /// the frame that last set it, so every entry from Swift (possibly from another thread) starts here. The budget
    /// shrinks when the thread has less stack left than `stackBudget`, so the check always fires before the guard page.
    package func enter() {
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
    /// `InternalError: interrupted` from wherever it is. Clears `wasInterrupted`. Returns the time it read, which a
    /// caller timing the dispatch uses as its start.
    @discardableResult
    package func arm(milliseconds: Double) -> UInt64 {
        wasInterrupted = false
        let now = Self.monotonicNanoseconds()
        deadline = now &+ UInt64(max(milliseconds, 0) * 1_000_000)
        return now
    }

    /// Lets JavaScript run without a deadline (outside dispatches: nothing runs then anyway).
    package func disarm() { deadline = nil }

    /// Called by QuickJS every few thousand instructions: true stops the running code.
    fileprivate func shouldInterrupt() -> Bool {
        guard let deadline, Self.monotonicNanoseconds() >= deadline else { return false }
        wasInterrupted = true
        return true
    }

    package static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        unsafe clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    // MARK: Heap

    /// How many allocations failed since the runtime was made: at the memory limit, or malloc returning NULL.
    package var allocationFailures: Int { unsafe Int(heapCount.pointee.failures) }

    /// Bytes QuickJS holds on its heap now, as its limit counts them.
    package var heapBytes: Int { unsafe Int(heapCount.pointee.bytes) }

    /// Runs `body` with the heap limit lifted. QuickJS 2025-04-26 cannot run out of memory safely while it compiles
    /// (its parser's cleanup then frees garbage: a SIGSEGV in free_bytecode_atoms), so compiling runs unlimited on
    /// sources `ModuleBudget` has bounded, and the heap is measured afterwards.
    /// Calls nest: QuickJS compiles imports from inside the compile of their importer.
    package func withoutMemoryLimit<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        liftDepth += 1
        unsafe JS_SetMemoryLimit(raw, 0)  // 0: no limit
        defer {
            liftDepth -= 1
            if liftDepth == 0 { unsafe JS_SetMemoryLimit(raw, memoryLimit) }
        }
        return try body()
    }

    package func collectGarbage() { unsafe JS_RunGC(raw) }

    // MARK: Jobs

    /// Runs queued jobs (promise reactions, microtasks) until none is left, including the ones they queue. A job that
    /// throws hands its context to `failed`, which must take the exception; the next job runs after it.
    package func executePendingJobs(_ failed: (JSContext) -> Void) {
        while true {
            var context: OpaquePointer?
            let status = unsafe JS_ExecutePendingJob(raw, &context)
            if status == 0 { return }
            if status < 0, let context = unsafe context { failed(unsafe JSContext.owner(of: context)) }
        }
    }
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
