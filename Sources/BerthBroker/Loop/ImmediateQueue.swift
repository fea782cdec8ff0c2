internal import CLibUV

/// Jobs that run once on the loop's next iteration, after it polled for I/O (libuv's check phase), in the order they
/// were queued: Node's setImmediate, for the broker. A job queued while jobs run waits for the following iteration,
/// so work that queues itself again cannot hold the loop: timers, I/O and signals get their turn in between.
@safe package final class ImmediateQueue: LoopHandleOwner {
    package let loop: EventLoop
    private let check: UnsafeMutablePointer<uv_check_t>
    /// Started while jobs wait, so the loop polls for I/O without blocking (libuv does not block while an idle handle
    /// is active); it does nothing itself.
    private let idle: UnsafeMutablePointer<uv_idle_t>
    private var jobs: [() -> Void] = []
    /// The jobs of the current check phase; swapped with `jobs` so neither reallocates in a steady state.
    private var running: [() -> Void] = []
    private var isClosing = false

    package init(loop: EventLoop) {
        loop.assertInLoopThread()
        let check = unsafe allocateZeroed(uv_check_t.self)
        let idle = unsafe allocateZeroed(uv_idle_t.self)
        precondition(unsafe uv_check_init(loop.raw, check) == 0, "uv_check_init cannot fail")
        precondition(unsafe uv_idle_init(loop.raw, idle) == 0, "uv_idle_init cannot fail")
        unsafe (self.check, self.idle) = (check, idle)
        self.loop = loop
        unsafe adopt(handlePointer(check), by: self)
        unsafe adopt(handlePointer(idle), by: self)
    }

    /// Whether jobs wait for the next check phase.
    package var isEmpty: Bool { jobs.isEmpty }

    /// Queues `job` for the next check phase (the one after the current, when called from a job). Dropped once closing.
    package func schedule(_ job: @escaping () -> Void) {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        if jobs.isEmpty {
            let status = unsafe uv_check_start(check) { handle in
                guard let handle = unsafe handle else { return }
                unsafe owner(of: handlePointer(handle), as: ImmediateQueue.self).runJobs()
            }
            precondition(status == 0, "uv_check_start on an open handle cannot fail")
            precondition(unsafe uv_idle_start(idle) { _ in } == 0, "uv_idle_start on an open handle cannot fail")
        }
        jobs.append(job)
    }

    private func runJobs() {
        swap(&jobs, &running)
        for job in running { job() }
        running.removeAll(keepingCapacity: true)
        guard jobs.isEmpty, !isClosing else { return }
        _ = unsafe uv_check_stop(check)
        _ = unsafe uv_idle_stop(idle)
    }

    /// Drops the waiting jobs and closes both handles; idempotent.
    package func close() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        isClosing = true
        unsafe closeHandle(handlePointer(check))
        unsafe closeHandle(handlePointer(idle))
    }

    func handleDidClose() {
        jobs = []
        running = []
    }
}
