internal import Glibc

/// The broker's process-wide system calls, kept beside the loop's other wrappers: the shutdown signals' mask, the
/// descriptor limit, and the exit a second signal asks for.
@safe enum System {
    /// A parent that spawned us from a thread with SIGTERM/SIGINT/SIGHUP blocked (test runners, some supervisors)
    /// passes that mask on; the broker must still hear them.
    static func unblockShutdownSignals() {
        var set = sigset_t()
        unsafe sigemptyset(&set)
        unsafe sigaddset(&set, SIGTERM)
        unsafe sigaddset(&set, SIGINT)
        unsafe sigaddset(&set, SIGHUP)
        _ = unsafe pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// A broker holds a socket per connection: lift the soft descriptor limit to the hard one, as Node and HAProxy do.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = unsafe setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The process's descriptor limit (RLIMIT_NOFILE, soft), for messages.
    static var fileLimit: Int? {
        var limit = rlimit()
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return Int(limit.rlim_cur)
    }

    /// Ends the process now, without draining: what a second shutdown signal asks for.
    static func exitNow(_ status: Int32) -> Never { exit(status) }
}
