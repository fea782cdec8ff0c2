package import BerthPlan
import BerthStore
import Foundation

/// The serve stage: one process, one libuv loop, every listening socket. Runs until SIGTERM/SIGINT and a drain.
///
/// Its parts: this module's `Loop/` (the libuv wrappers: loop, TCP/UDP sockets, timers, signals), `Screening/` (who
/// may connect, how many, how fast) and `Dispatch/HandlerInstance` (one endpoint: its socket and its handler); the
/// handler's runtime is BerthRuntime's `HandlerRuntime`, reached only through the `HandlerHost` contract (typed ids,
/// bytes lent for a call); `ctx.shared` is BerthStore's `SharedStore` protocol, of which `InProcessSharedStore` is
/// the one made here.
package final class Broker {
    /// How `run()` ended: stopped by a signal, or failed because nothing could be served (or, with `--strict`, one
    /// endpoint could not start); the reason is logged.
    package enum Outcome: Equatable, Sendable { case stopped, failed }

    /// ctx.shared deliveries per loop turn: a publish to 100,000 subscribers is spread over about 100 turns.
    static let deliveriesPerTurn = 1024

    private let plan: DeploymentPlan
    private let folder: String
    private let options: ServeOptions
    private let log: BrokerLog

    private init(plan: DeploymentPlan, folder: String, options: ServeOptions, log: BrokerLog) {
        (self.plan, self.folder, self.options, self.log) = (plan, folder, options, log)
    }

    /// Logs the plan's warnings and errors, then each refused entry, as the broker's first lines; false (having
    /// logged why) when `--strict` refuses to start on them.
    package static func admits(_ plan: DeploymentPlan, options: ServeOptions, log: BrokerLog) -> Bool {
        for diagnostic in plan.diagnostics where diagnostic.severity != .info {
            let level: BrokerLog.Level = diagnostic.severity == .error ? .error : .warn
            var fields = [("code", diagnostic.code.rawValue)]
            // The log is read on a terminal too: the folder's text goes through the views' one escape.
            if let location = diagnostic.location { fields.append(("at", PrintableText.escaped(location.description))) }
            if let hint = diagnostic.hint { fields.append(("hint", PrintableText.escaped(hint))) }
            log.log(level, PrintableText.escaped(diagnostic.message), fields: fields)
        }
        for entry in plan.refused {
            log.log(.error, "refused \(PrintableText.escaped(entry.file))",
                    fields: [("reasons", entry.reasons.map(\.rawValue).joined(separator: ","))])
        }
        guard options.isStrict, plan.diagnostics.hasErrors || plan.diagnostics.warningCount > 0 else { return true }
        log.log(.error, "not starting: --strict and the folder has \(plan.diagnostics.errorCount) errors, "
                    + "\(plan.diagnostics.warningCount) warnings")
        return false
    }

    /// Serves every endpoint of `plan`, whose handlers are in `folder`, until a signal (`run()`).
    package static func serve(plan: DeploymentPlan, folder: String, options: ServeOptions, log: BrokerLog) throws -> Outcome {
        let folder = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        return try Broker(plan: plan, folder: folder, options: options, log: log).run()
    }

    /// Serves every endpoint of the plan until a signal, then drains: stop accepting, abort every `ctx.signal`, run
    /// `close(ctx)`, let open connections finish for the grace period, destroy the rest. A second signal exits at once.
    /// When no endpoint can start (or, with `--strict`, any one cannot), it drains the same way and fails.
    private func run() throws -> Outcome {
        System.raiseFileLimit()
        System.unblockShutdownSignals()
        let loop = try EventLoop()
        // Immediates and ctx.shared deliveries run after the loop polled for I/O, a bounded batch per turn, so nothing
        // a handler schedules can keep I/O, timers or signals from their turn.
        let immediates = ImmediateQueue(loop: loop)
        var store: (any SharedStore)?
        store = InProcessSharedStore(maxBytes: options.storeMaxBytes) {
            immediates.schedule { store?.deliverPending(maxCount: Self.deliveriesPerTurn) }
        }
        var instances: [HandlerInstance] = []
        var unservable = 0  // endpoints that did not start: TLS, module, bind, open()
        for endpoint in plan.endpoints {
            if endpoint.tls != nil {
                log.log(.error, "not serving \(endpoint.file): TLS termination is not available in this version of berth",
                        handler: endpoint.name)
                unservable += 1
                continue
            }
            instances.append(HandlerInstance(endpoint: endpoint, loop: loop, immediates: immediates, options: options,
                                             log: log, store: store!,
                                             storeOwner: SharedStoreOwnerID(instances.count + 1)))
        }

        var signals: [SignalWatcher] = []
        var graceTimer: LoopTimer?
        var isShuttingDown = false
        var outcome = Outcome.stopped
        let finish = {
            for instance in instances { instance.stop() }
            for watcher in signals { watcher.close() }
            graceTimer?.close()
            immediates.close()
        }
        let checkDrained = {
            if isShuttingDown, instances.allSatisfy({ $0.openConnectionCount == 0 }) { finish() }
        }
        let drain: (String) -> Void = { [log, options] reason in
            isShuttingDown = true
            let open = instances.reduce(0) { $0 + $1.openConnectionCount }
            log.log(.info, "shutting down \(reason): \(open) connections may finish within \(DurationText.format(milliseconds: options.graceMilliseconds))")
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
        let shutdown: (Int32) -> Void = { [log] signal in
            if isShuttingDown {
                log.log(.warn, "second signal: exiting now")
                System.exitNow(1)
            }
            drain("on signal \(signal)")
        }
        for signal in [SIGTERM, SIGINT] { signals.append(try SignalWatcher(loop: loop, signal: signal, shutdown)) }
        // Operators send SIGHUP to reload; until berth can, it must not kill the broker (its default action).
        signals.append(try SignalWatcher(loop: loop, signal: SIGHUP) { [log] _ in
            log.log(.warn, "SIGHUP: live reload is not available yet; nothing changed, still serving")
        })

        // An endpoint that cannot start fails the broker when no endpoint is left to serve, or with --strict.
        let checkServing = { [log, options, plan] (failed: String?) in
            guard !isShuttingDown else { return }
            if options.isStrict, let failed {
                log.log(.error, "stopping: --strict, and \(failed) could not start (see above)")
            } else if unservable >= plan.endpoints.count {
                log.log(.error, plan.endpoints.isEmpty
                    ? "stopping: nothing to serve, the folder has no endpoint that compiles (see above)"
                    : "stopping: nothing to serve, none of the \(plan.endpoints.count) endpoints could start (see above)")
            } else {
                return
            }
            outcome = .failed
            drain("after a failed start")
        }
        for instance in instances {
            instance.onStartFailed = { [file = instance.endpoint.file] in
                unservable += 1
                checkServing(file)
            }
        }
        for instance in instances where !isShuttingDown { instance.start(folder: folder) }
        checkServing(nil)

        loop.run()
        loop.close()
        log.log(.info, "stopped")
        return outcome
    }
}
