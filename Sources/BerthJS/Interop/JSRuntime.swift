internal import CQuickJS

/// A QuickJS runtime: one heap with a byte limit, one garbage collector, one stack budget. It is not thread-safe: one
/// thread at a time uses it and the contexts on it, and calls `enter()` first.
@safe final class JSRuntime {
    let raw: OpaquePointer
    /// Most stack QuickJS may use below the frame that called `enter()`, in bytes.
    private let stackBudget: Int

    /// `memoryLimit` bounds QuickJS's heap (allocation failures become `InternalError: out of memory`); `stackBudget`
    /// bounds its recursion (the parser and interpreter throw "stack overflow" instead of overrunning the stack).
    init(memoryLimit: Int, stackBudget: Int) {
        guard let raw = unsafe JS_NewRuntime() else { preconditionFailure("QuickJS could not allocate a runtime") }
        unsafe self.raw = raw
        self.stackBudget = stackBudget
        unsafe JS_SetMemoryLimit(raw, memoryLimit)
        enter()
    }

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
}
