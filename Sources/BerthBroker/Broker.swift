package import BerthPlan
import BerthStore
import Foundation

/// The serve stage: one process, one libuv loop, every listening socket. Runs until SIGTERM/SIGINT and a drain.
package final class Broker {
    /// ctx.shared deliveries per loop turn: a publish to 100,000 subscribers is spread over about 100 turns.
    static let deliveriesPerTurn = 1024

    private let plan: DeploymentPlan
    private let folder: String
    private let options: ServeOptions
    private let log: BrokerLog

    package init(plan: DeploymentPlan, folder: String, options: ServeOptions, log: BrokerLog) {
        (self.plan, self.folder, self.options, self.log) = (plan, folder, options, log)
    }

    /// Serves every endpoint of the plan until a signal, then drains: stop accepting, abort every `ctx.signal`, run
    /// `close(ctx)`, let open connections finish for the grace period, destroy the rest. A second signal exits at once.
    package func run() throws {
        Self.raiseFileLimit()
        Self.unblockShutdownSignals()
        let loop = try EventLoop()
        // Immediates and ctx.shared deliveries run after the loop polled for I/O, a bounded batch per turn, so nothing
        // a handler schedules can keep I/O, timers or signals from their turn.
        let immediates = ImmediateQueue(loop: loop)
        var store: SharedStore?
        store = SharedStore(maxBytes: options.storeMaxBytes) {
            immediates.schedule { store?.deliverPending(maxCount: Self.deliveriesPerTurn) }
        }
        var instances: [HandlerInstance] = []
        for endpoint in plan.endpoints {
            if endpoint.tls != nil {
                log.log(.error, "not serving \(endpoint.file): TLS termination is not available in this version of berth",
                        handler: endpoint.name)
                continue
            }
            let instance = HandlerInstance(endpoint: endpoint, loop: loop, immediates: immediates, options: options,
                                           log: log, store: store!, storeOwner: instances.count + 1)
            instances.append(instance)
            instance.start(folder: folder)
        }

        var signals: [SignalWatcher] = []
        var graceTimer: LoopTimer?
        var isShuttingDown = false
        let finish = {
            for instance in instances { instance.stop() }
            for watcher in signals { watcher.close() }
            graceTimer?.close()
            immediates.close()
        }
        let checkDrained = {
            if isShuttingDown, instances.allSatisfy({ $0.openConnectionCount == 0 }) { finish() }
        }
        let shutdown: (Int32) -> Void = { [log, options] signal in
            if isShuttingDown {
                log.log(.warn, "second signal: exiting now")
                exit(1)
            }
            isShuttingDown = true
            let open = instances.reduce(0) { $0 + $1.openConnectionCount }
            log.log(.info, "shutting down on signal \(signal): \(open) connections may finish within \(DurationText.format(milliseconds: options.graceMilliseconds))")
            for instance in instances {
                instance.onDrained = { checkDrained() }
                instance.stopAccepting()
            }
            let timer = LoopTimer(loop: loop)
            timer.start(after: UInt64(options.graceMilliseconds)) {
                let open = instances.reduce(0) { $0 + $1.openConnectionCount }
                if open > 0 { log.log(.warn, "grace period over: destroying \(open) open connections") }
                finish()
            }
            graceTimer = timer
            checkDrained()
        }
        for signal in [SIGTERM, SIGINT] { signals.append(try SignalWatcher(loop: loop, signal: signal, shutdown)) }

        loop.run()
        loop.close()
        log.log(.info, "stopped")
    }

    /// A parent that spawned us from a thread with SIGTERM/SIGINT blocked (test runners, some supervisors) passes that
    /// mask on; the broker must still hear them.
    private static func unblockShutdownSignals() {
        var set = sigset_t()
        unsafe sigemptyset(&set)
        unsafe sigaddset(&set, SIGTERM)
        unsafe sigaddset(&set, SIGINT)
        _ = unsafe pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// A broker holds a socket per connection: lift the soft descriptor limit to the hard one, as Node and HAProxy do.
    private static func raiseFileLimit() {
        var limit = rlimit()
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = unsafe setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
