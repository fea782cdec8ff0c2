package import BerthPlan
import BerthStore
import BerthTLS
import Dispatch
import Foundation

/// The serve stage: one process, one libuv loop, every listening socket, driven by the plan. Runs until
/// SIGTERM/SIGINT and a drain; follows the folder (watched, or on SIGHUP) by compiling it again and applying the new
/// plan endpoint by endpoint (`PlanDiff`).
///
/// Its parts: this module's `Loop/` (the libuv wrappers: loop, TCP/UDP sockets, timers, signals, directory watchers),
/// `Screening/` (who may connect, how many, how fast), `Dispatch/` (`PortClaim`: one transport/port, its socket and
/// screen, outliving the `Generation`s — loaded versions of its handler — that serve it) and `Reload/` (the plan diff
/// and the folder watch); the handler's runtime is BerthRuntime's `HandlerRuntime`, reached only through the
/// `HandlerHost` contract (typed ids, bytes lent for a call); `ctx.shared` is BerthStore's `SharedStore` protocol, of
/// which `InProcessSharedStore` is the one made here, owned by the broker so it outlives every reload.
package final class Broker {
    /// How `run()` ended: stopped by a signal, or failed because nothing could be served (or, with `--strict`, one
    /// endpoint could not start); the reason is logged.
    package enum Outcome: Equatable, Sendable { case stopped, failed }

    /// How a reload gets a new plan, and (with `--firewall`) makes the kernel follow it: given by the CLI, so the
    /// broker needs neither the compiler nor the firewall stage.
    package struct Reloading: Sendable {
        /// Compiles the folder again, off the loop thread. Its argument maps each running claim (`tcp/7000`) to its
        /// file: the incumbents keep their ports. Returns the plan, or why the folder could not be compiled at all.
        package var compile: @Sendable (_ incumbents: [String: String]) -> Result<DeploymentPlan, ReloadFailure>
        /// Makes the firewall match the endpoints about to serve, in one transaction, before any new port opens;
        /// throws why it could not (the reload is then not applied). On the loop thread.
        package var applyFirewall: (@Sendable (DeploymentPlan) throws(ReloadFailure) -> Void)?

        package init(
            compile: @escaping @Sendable ([String: String]) -> Result<DeploymentPlan, ReloadFailure>,
            applyFirewall: (@Sendable (DeploymentPlan) throws(ReloadFailure) -> Void)? = nil
        ) {
            (self.compile, self.applyFirewall) = (compile, applyFirewall)
        }
    }

    /// Why a reload could not compile the folder or apply the firewall.
    package struct ReloadFailure: Error, Sendable {
        package var message: String
        package init(_ message: String) { self.message = message }
    }

    /// ctx.shared deliveries per loop turn: a publish to 100,000 subscribers is spread over about 100 turns.
    static let deliveriesPerTurn = 1024

    /// The plan last applied (the one whose diagnostics were logged, and whose manifest a reload must keep).
    private(set) var plan: DeploymentPlan
    private let folder: String
    private let options: ServeOptions
    private let log: BrokerLog
    private let reloading: Reloading?

    private let loop: EventLoop
    private let immediates: ImmediateQueue
    private(set) var store: (any SharedStore)!
    /// The claims serving, by `Endpoint.claim`.
    private(set) var claims: [String: PortClaim] = [:]
    /// Claims no longer accepting (removed, failed, or the broker stopping) whose generations still drain.
    private(set) var retiredClaims: [PortClaim] = []
    /// Generations made so far: each gets its own ctx.shared owner, so unloading it drops exactly its subscriptions.
    private var generationCount = 0
    private var signals: [SignalWatcher] = []
    private var watch: FolderWatch?
    private var inbox: LoopInbox<Compiled>?
    private(set) var isShuttingDown = false
    /// The first plan's endpoints all started (or failed to): what `READY=1` and `/readyz` wait for.
    private(set) var hasStarted = false
    /// Reloads by how they ended, for `/metrics`.
    private(set) var reloadOutcomes: [ReloadOutcome: Int] = [:]
    let startTime = Date()
    private var notifier: SystemdNotifier?
    private var watchdog: LoopTimer?
    private var statusServer: StatusServer?
    private var graceTimer: LoopTimer?
    private var outcome = Outcome.stopped
    /// Endpoints of the first plan that could not start (module, bind, `open`).
    private var unservable = 0

    // MARK: Reload state
    private(set) var reloadCount = 0
    private(set) var reload: Attempt?
    /// The reload being compiled off the loop: what triggered it and when (loop time, ms).
    private(set) var compiling: (trigger: String, startedAt: UInt64)?
    /// A trigger that arrived while a reload was under way: one more reload follows it.
    private var pendingTrigger: String?
    private let compileQueue = DispatchQueue(label: "berth.reload.compile")

    /// A compiled plan handed back to the loop by the compile queue.
    private struct Compiled: Sendable {
        var number: Int
        var result: Result<DeploymentPlan, ReloadFailure>
    }

    private init(plan: DeploymentPlan, folder: String, options: ServeOptions, log: BrokerLog, reloading: Reloading?,
                 loop: EventLoop) {
        (self.plan, self.folder, self.options, self.log, self.reloading) = (plan, folder, options, log, reloading)
        self.loop = loop
        immediates = ImmediateQueue(loop: loop)
    }

    /// Logs the plan's warnings and errors, then each refused entry, as the broker's first lines; false (having
    /// logged why) when `--strict` refuses to start on them.
    package static func admits(_ plan: DeploymentPlan, options: ServeOptions, log: BrokerLog) -> Bool {
        logDiagnostics(of: plan, except: nil, log: log)
        guard options.isStrict, plan.diagnostics.hasErrors || plan.diagnostics.warningCount > 0 else { return true }
        log.log(.error, "not starting: --strict and the folder has \(plan.diagnostics.errorCount) errors, "
                    + "\(plan.diagnostics.warningCount) warnings")
        return false
    }

    /// Logs the diagnostics and refused entries of `plan` not in `running` (all of them at start): a reload logs what is
    /// new, not every warning again.
    private static func logDiagnostics(of plan: DeploymentPlan, except running: DeploymentPlan?, log: BrokerLog) {
        let known = Set(running?.diagnostics ?? [])
        let knownRefused = Set(running?.refused ?? [])
        for diagnostic in plan.diagnostics where diagnostic.severity != .info && !known.contains(diagnostic) {
            let level: BrokerLog.Level = diagnostic.severity == .error ? .error : .warn
            var fields = [("code", diagnostic.code.rawValue)]
            // The log is read on a terminal too: the folder's text goes through the views' one escape.
            if let location = diagnostic.location { fields.append(("at", PrintableText.escaped(location.description))) }
            if let hint = diagnostic.hint { fields.append(("hint", PrintableText.escaped(hint))) }
            log.log(level, PrintableText.escaped(diagnostic.message), fields: fields)
        }
        for entry in plan.refused where !knownRefused.contains(entry) {
            log.log(.error, "refused \(PrintableText.escaped(entry.file))",
                    fields: [("reasons", entry.reasons.map(\.rawValue).joined(separator: ","))])
        }
    }

    /// Serves every endpoint of `plan`, whose handlers are in `folder`, until a signal; with `reloading`, follows
    /// the folder as it changes.
    package static func serve(plan: DeploymentPlan, folder: String, options: ServeOptions, log: BrokerLog,
                              reloading: Reloading? = nil) throws -> Outcome {
        let folder = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        System.raiseFileLimit()
        System.unblockShutdownSignals()
        let loop = try EventLoop()
        let broker = Broker(plan: plan, folder: folder, options: options, log: log, reloading: reloading, loop: loop)
        return try broker.run()
    }

    /// Serves until a signal, then drains: stop accepting, abort every `ctx.signal`, run `close(ctx)`, let open
    /// connections finish for the grace period, destroy the rest. A second signal exits at once. When no endpoint can
    /// start (or, with `--strict`, any one cannot), it drains the same way and fails.
    private func run() throws -> Outcome {
        // Immediates and ctx.shared deliveries run after the loop polled for I/O, a bounded batch per turn, so nothing
        // a handler schedules can keep I/O, timers or signals from their turn.
        store = InProcessSharedStore(maxBytes: options.storeMaxBytes) { [immediates, weak self] in
            immediates.schedule { self?.store?.deliverPending(maxCount: Self.deliveriesPerTurn) }
        }
        for signal in [SIGTERM, SIGINT] {
            signals.append(try SignalWatcher(loop: loop, signal: signal) { [weak self] in self?.shutdown(signal: $0) })
        }
        // Operators send SIGHUP to reload (its default action would kill the broker).
        signals.append(try SignalWatcher(loop: loop, signal: SIGHUP) { [weak self] _ in self?.requestReload("SIGHUP") })
        if reloading != nil {
            let inbox = try LoopInbox<Compiled>(loop: loop) { [weak self] in self?.compiled($0) }
            inbox.keepsLoopAlive = false
            self.inbox = inbox
            if options.isWatching {
                watch = FolderWatch(loop: loop, folder: folder, debounceMilliseconds: options.reloadDebounceMilliseconds,
                                    log: log) { [weak self] in self?.requestReload("watch") }
                watch?.watch([plan])
            }
        }
        notifier = SystemdNotifier(log: log)
        if let interval = notifier?.watchdogIntervalMilliseconds {
            // From the loop: a loop that stops turning stops the pings, and systemd restarts the broker.
            let timer = LoopTimer(loop: loop)
            timer.keepsLoopAlive = false
            timer.start(after: interval, repeat: interval) { [weak self] in self?.notifier?.watchdog() }
            watchdog = timer
        }
        if let metrics = options.metrics {
            do {
                statusServer = try StatusServer(
                    address: SocketAddress(address: metrics.host, port: metrics.port)!, loop: loop
                ) { [weak self] path in self?.statusResponse(path) }
                log.log(.info, "metrics on http://\(metrics.authority)/metrics (and /healthz, /readyz)")
            } catch {
                log.log(.error, "not starting: cannot serve metrics on \(metrics.authority): \(error.message) (\(error.code))",
                        fields: [("code", error.code)])
                finish()
                loop.run()
                loop.close()
                return .failed
            }
        }
        begin(plan, number: nil, trigger: nil, startedAt: loop.now)
        loop.run()
        loop.close()
        log.log(.info, "stopped")
        return outcome
    }

    // MARK: Shutdown

    private func shutdown(signal: Int32) {
        if isShuttingDown {
            log.log(.warn, "second signal: exiting now")
            System.exitNow(1)
        }
        drain("on signal \(signal)")
    }

    private var allClaims: [PortClaim] { Array(claims.values) + retiredClaims }
    private var openConnectionCount: Int { allClaims.reduce(0) { $0 + $1.openConnectionCount } }
    /// Handler runtimes alive: every claim's serving generation and those still draining.
    var runtimeCount: Int { allClaims.reduce(0) { $0 + $1.runtimeCount } }

    private func drain(_ reason: String) {
        isShuttingDown = true
        notifier?.stopping(status: "shutting down \(reason)")
        watch?.close()
        cancelReload()
        log.log(.info, "shutting down \(reason): \(openConnectionCount) connections may finish within \(DurationText.format(milliseconds: options.graceMilliseconds))")
        retiredClaims += claims.values
        claims.removeAll()
        for claim in retiredClaims { claim.stopAccepting(graceMilliseconds: nil) }
        let timer = LoopTimer(loop: loop)
        timer.start(after: UInt64(options.graceMilliseconds)) { [weak self] in
            guard let self else { return }
            let open = self.openConnectionCount
            if open > 0 { self.log.log(.warn, "grace period over: destroying \(open) open connections") }
            self.finish()
        }
        graceTimer = timer
        checkDrained()
    }

    private func checkDrained() {
        if isShuttingDown, openConnectionCount == 0 { finish() }
    }

    private func finish() {
        for claim in retiredClaims { claim.unload() }
        for watcher in signals { watcher.close() }
        signals.removeAll()
        inbox?.close()
        inbox = nil
        graceTimer?.close()
        graceTimer = nil
        watchdog?.close()
        watchdog = nil
        statusServer?.close()
        statusServer = nil
        immediates.close()
    }

    // MARK: Applying a plan

    /// One plan being applied: its new generations load and open; then everything commits in one loop turn.
    final class Attempt {
        let number: Int?
        let trigger: String?
        let plan: DeploymentPlan
        let diff: PlanDiff
        let startedAt: UInt64
        /// New claims (bound, not listening) and new generations that finished `open(ctx)`.
        var ready: [(endpoint: Endpoint, generation: Generation, newClaim: PortClaim?)] = []
        /// New TLS handshake contexts, by claim: for endpoints whose TLS settings differ from what their claim uses.
        var tlsContexts: [String: TLSServerContext] = [:]
        /// Every generation made for this attempt, to free them if it is abandoned.
        var staged: [(generation: Generation, newClaim: PortClaim?)] = []
        /// Versions of running claims that failed to load or open: the running one stays.
        var keptAfterOpen: [(file: String, reason: String)] = []
        var loading = 0
        var isStaging = true

        init(number: Int?, trigger: String?, plan: DeploymentPlan, diff: PlanDiff, startedAt: UInt64) {
            (self.number, self.trigger, self.plan, self.diff, self.startedAt) = (number, trigger, plan, diff, startedAt)
        }
    }

    /// Applies `plan`: the first one (`number` nil) at start, then each reload's. Rejected whole when its manifest does
    /// not compile; otherwise new versions load and open while the running ones keep serving.
    private func begin(_ plan: DeploymentPlan, number: Int?, trigger: String?, startedAt: UInt64) {
        if let number, let rejection = PlanDiff.rejection(of: plan, running: self.plan) ?? strictRejection(of: plan) {
            // What would have applied is not logged as if it had ("every source may connect" for a missing manifest).
            var errors = plan
            errors.diagnostics.removeAll { $0.severity != .error }
            Self.logDiagnostics(of: errors, except: self.plan, log: log)
            logUnapplied(number, trigger: trigger, startedAt: startedAt, because: rejection)
            finishReload(watching: plan)
            return
        }
        if number != nil { Self.logDiagnostics(of: plan, except: self.plan, log: log) }
        let running = claims.compactMapValues { claim in
            claim.serving.map { PlanDiff.Running(endpoint: claim.endpoint, codeHash: $0.codeHash) }
        }
        let attempt = Attempt(number: number, trigger: trigger, plan: plan, diff: PlanDiff(running: running, plan: plan),
                              startedAt: startedAt)
        reload = attempt
        let unbuilt = buildTLSContexts(for: attempt)
        for endpoint in attempt.diff.added where !unbuilt.contains(endpoint.claim) {
            let claim: PortClaim
            do {
                claim = try PortClaim(endpoint: endpoint, tls: attempt.tlsContexts[endpoint.claim], loop: loop,
                                      options: options, log: log)
            } catch {
                let address = options.bindAddress ?? "*"
                log.log(.error, "not serving \(endpoint.file): cannot bind \(endpoint.claim) on \(address): \(error.message) (\(error.code))",
                        handler: endpoint.name, fields: [("code", error.code)])
                notServed(endpoint.file, in: attempt)
                continue
            }
            load(endpoint, on: claim, isNewClaim: true, for: attempt)
        }
        for endpoint in attempt.diff.replaced {
            load(endpoint, on: claims[endpoint.claim]!, isNewClaim: false, for: attempt)
        }
        attempt.isStaging = false
        if attempt.loading == 0, reload === attempt { commit(attempt) }
    }

    /// Builds the handshake context of every endpoint whose TLS settings (files included, by hash) differ from what
    /// its claim uses; returns the claims whose context OpenSSL refused. A new endpoint among them is not served; a
    /// running one keeps its certificates, and the reload line says so.
    private func buildTLSContexts(for attempt: Attempt) -> Set<String> {
        var unbuilt: Set<String> = []
        for endpoint in attempt.diff.added + attempt.diff.replaced + attempt.diff.repoliced {
            guard let settings = endpoint.tls, claims[endpoint.claim]?.tls?.settings != settings else { continue }
            do {
                attempt.tlsContexts[endpoint.claim] = try TLSServerContext(
                    settings: settings, credentials: attempt.plan.credentials)
            } catch {
                unbuilt.insert(endpoint.claim)
                if claims[endpoint.claim] == nil {
                    log.log(.error, "not serving \(endpoint.file): \(error.message)", handler: endpoint.name)
                    notServed(endpoint.file, in: attempt)
                } else {
                    log.log(.error, "keeping the running certificates of \(endpoint.claim): \(error.message)",
                            handler: endpoint.name)
                    attempt.keptAfterOpen.append((endpoint.file, "tls: \(error.message)"))
                }
            }
        }
        return unbuilt
    }

    /// With `--strict` a reload, like the start, takes no folder with an error or a warning.
    private func strictRejection(of plan: DeploymentPlan) -> String? {
        guard options.isStrict, plan.diagnostics.hasErrors || plan.diagnostics.warningCount > 0 else { return nil }
        return "--strict and the folder has \(plan.diagnostics.errorCount) errors, \(plan.diagnostics.warningCount) warnings"
    }

    private func load(_ endpoint: Endpoint, on claim: PortClaim, isNewClaim: Bool, for attempt: Attempt) {
        generationCount += 1
        let generation = Generation(
            number: claim.nextGenerationNumber(), endpoint: endpoint,
            codeHash: PlanDiff.codeHash(of: endpoint, in: attempt.plan), claim: claim, loop: loop,
            immediates: immediates, options: options, log: log, store: store,
            storeOwner: SharedStoreOwnerID(generationCount))
        let newClaim = isNewClaim ? claim : nil
        attempt.staged.append((generation, newClaim))
        attempt.loading += 1
        generation.load(folder: folder, sources: attempt.plan.sources) { [weak self, weak attempt] failure in
            guard let self, let attempt, self.reload === attempt else { return }
            attempt.loading -= 1
            if let failure {
                self.log.log(.error, newClaim == nil
                    ? "not loading the new version of \(endpoint.file): \(failure); the running version keeps serving"
                    : "not serving \(endpoint.file): \(failure)", handler: endpoint.name)
                generation.unload()
                if let newClaim {
                    newClaim.unload()
                    self.notServed(endpoint.file, in: attempt)
                } else {
                    attempt.keptAfterOpen.append((endpoint.file, failure))
                }
            } else if attempt.number == nil, let newClaim {
                // At start each endpoint listens as soon as its own open finished.
                self.startServing(endpoint, generation, on: newClaim)
            } else {
                attempt.ready.append((endpoint, generation, newClaim))
            }
            if attempt.loading == 0, !attempt.isStaging { self.commit(attempt) }
        }
    }

    /// An endpoint of the first plan that cannot start fails the broker when none is left, or with `--strict`.
    private func notServed(_ file: String, in attempt: Attempt) {
        guard attempt.number == nil else { return }
        unservable += 1
        if options.isStrict { failStart("stopping: --strict, and \(PrintableText.escaped(file)) could not start (see above)") }
    }

    private func failStart(_ message: String) {
        guard !isShuttingDown else { return }
        log.log(.error, message)
        outcome = .failed
        drain("after a failed start")
    }

    private func startServing(_ endpoint: Endpoint, _ generation: Generation, on claim: PortClaim) {
        do {
            try claim.serve(generation)
        } catch {
            log.log(.error, "not serving \(endpoint.file): cannot listen on \(endpoint.claim): \(error.message) (\(error.code))",
                    handler: endpoint.name, fields: [("code", error.code)])
            claim.unload()
            if let attempt = reload { notServed(endpoint.file, in: attempt) }
            return
        }
        adopt(claim)
        log.log(.info, "listening on \(endpoint.claim)", handler: endpoint.name,
                fields: [("file", endpoint.file), ("address", options.bindAddress ?? "*")])
    }

    private func adopt(_ claim: PortClaim) {
        claims[claim.endpoint.claim] = claim
        claim.onDrained = { [weak self] unloaded in self?.claimDrained(unloaded: unloaded) }
        claim.onFailed = { [weak self] failed in
            guard let self, self.claims[failed.endpoint.claim] === failed else { return }
            self.claims[failed.endpoint.claim] = nil
            self.retiredClaims.append(failed)
        }
    }

    private func claimDrained(unloaded: Generation?) {
        retiredClaims.removeAll { !$0.isAccepting && $0.runtimeCount == 0 }
        if let unloaded {
            log.log(.info, "generation \(unloaded.number) unloaded", handler: unloaded.endpoint.name,
                    fields: [("generation", String(unloaded.number)), ("claim", unloaded.endpoint.claim),
                             ("runtimes", String(runtimeCount))])
        }
        checkDrained()
    }

    /// Makes the attempt's changes in one loop turn: the firewall first (a failure changes nothing), then removed
    /// claims stop accepting, policies change, new claims listen and new generations take new work.
    private func commit(_ attempt: Attempt) {
        reload = nil
        guard let number = attempt.number else {
            plan = attempt.plan
            hasStarted = true
            if claims.isEmpty {
                failStart(plan.endpoints.isEmpty
                    ? "stopping: nothing to serve, the folder has no endpoint that compiles (see above)"
                    : "stopping: nothing to serve, none of the \(plan.endpoints.count) endpoints could start (see above)")
            }
            if !isShuttingDown { finishReload() }
            return
        }
        let diff = attempt.diff
        if let applyFirewall = reloading?.applyFirewall {
            do {
                try applyFirewall(effectivePlan(after: attempt))
            } catch {
                for (generation, newClaim) in attempt.staged {
                    generation.unload()
                    newClaim?.unload()
                }
                logUnapplied(number, trigger: attempt.trigger, startedAt: attempt.startedAt, because: error.message,
                             "the firewall was not applied")
                finishReload(watching: attempt.plan)
                return
            }
        }
        for endpoint in diff.removed {
            guard let claim = claims.removeValue(forKey: endpoint.claim) else { continue }
            retiredClaims.append(claim)
            claim.stopAccepting(graceMilliseconds: options.graceMilliseconds)
        }
        for endpoint in diff.repoliced {
            claims[endpoint.claim]?.update(to: endpoint, tls: attempt.tlsContexts[endpoint.claim])
        }
        var added = 0
        var changed = diff.repoliced.count
        for (endpoint, generation, newClaim) in attempt.ready {
            if let newClaim {
                startServing(endpoint, generation, on: newClaim)
                if claims[endpoint.claim] === newClaim { added += 1 }
            } else if let claim = claims[endpoint.claim] {
                claim.update(to: endpoint, tls: attempt.tlsContexts[endpoint.claim])
                do {
                    try claim.serve(generation)
                    changed += 1
                } catch {
                    generation.unload()
                }
            } else {
                generation.unload()  // the claim failed while this version loaded
            }
        }
        plan = attempt.plan
        let kept = diff.kept.map { ($0.file, $0.reason) } + attempt.keptAfterOpen
        var message = "reload \(number): +\(added) ~\(changed) -\(diff.removed.count)"
        if !kept.isEmpty {
            message += ", kept last good: " + kept.map { "\(PrintableText.escaped($0.0)) (\(PrintableText.escaped($0.1)))" }
                .joined(separator: ", ")
        }
        message += ", \(elapsed(since: attempt.startedAt)) ms"
        reloadOutcomes[kept.isEmpty ? .applied : .keptLastGood, default: 0] += 1
        log.log(kept.isEmpty ? .info : .warn, message,
                fields: reloadFields(number: number, trigger: attempt.trigger, startedAt: attempt.startedAt) + [
                    ("added", String(added)), ("changed", String(changed)), ("removed", String(diff.removed.count)),
                    ("kept", kept.map { PrintableText.escaped($0.0) }.joined(separator: ",")),
                ])
        finishReload(watching: attempt.plan)
    }

    /// The endpoints that serve once `attempt` commits: what the firewall must admit.
    private func effectivePlan(after attempt: Attempt) -> DeploymentPlan {
        var endpoints = claims.mapValues(\.endpoint)
        for endpoint in attempt.diff.removed { endpoints[endpoint.claim] = nil }
        for endpoint in attempt.diff.repoliced { endpoints[endpoint.claim] = endpoint }
        for (endpoint, _, _) in attempt.ready { endpoints[endpoint.claim] = endpoint }
        return DeploymentPlan(berthVersion: attempt.plan.berthVersion, folderHash: attempt.plan.folderHash,
                              endpoints: Array(endpoints.values), refused: attempt.plan.refused,
                              diagnostics: attempt.plan.diagnostics)
    }

    // MARK: Reloading

    /// Starts a reload (compiling off the loop), or queues one when a reload is under way.
    private func requestReload(_ trigger: String) {
        guard let reloading, let inbox, !isShuttingDown else {
            if reloading == nil { log.log(.warn, "\(trigger): this broker does not reload; nothing changed") }
            return
        }
        guard reload == nil, compiling == nil else {
            pendingTrigger = trigger
            return
        }
        reloadCount += 1
        watch?.cancelPending()  // this reload covers the changes seen so far
        let number = reloadCount
        compiling = (trigger, loop.now)
        notifier?.reloading(status: "reload \(number) (\(trigger))")
        let incumbents = claims.mapValues(\.endpoint.file)
        compileQueue.async { inbox.post(Compiled(number: number, result: reloading.compile(incumbents))) }
    }

    private func compiled(_ compiled: Compiled) {
        guard let (trigger, startedAt) = compiling else { return }
        self.compiling = nil
        guard !isShuttingDown else { return }
        switch compiled.result {
        case .success(let plan):
            begin(plan, number: compiled.number, trigger: trigger, startedAt: startedAt)
        case .failure(let failure):
            logUnapplied(compiled.number, trigger: trigger, startedAt: startedAt, because: failure.message)
            finishReload()
        }
    }

    /// Frees what an unfinished reload loaded (the broker is stopping).
    private func cancelReload() {
        guard let attempt = reload else { return }
        reload = nil
        for (generation, newClaim) in attempt.staged {
            generation.unload()
            newClaim?.unload()
        }
    }

    private func finishReload(watching compiled: DeploymentPlan? = nil) {
        // What serves counts too: an endpoint kept after its new certificate was refused still uses its TLS files,
        // and the fix of those files must be seen.
        let serving = DeploymentPlan(berthVersion: plan.berthVersion, folderHash: plan.folderHash,
                                     endpoints: claims.values.map(\.endpoint), refused: [], diagnostics: [])
        watch?.watch([plan, serving] + (compiled.map { [$0] } ?? []))
        let count = plan.endpoints.filter { claims[$0.claim]?.serving != nil }.count
        notifier?.ready(status: "serving \(count) of \(plan.endpoints.count) endpoints")
        if let trigger = pendingTrigger {
            pendingTrigger = nil
            requestReload(trigger)
        }
    }

    /// The one line of a reload that changed nothing at all, and why.
    private func logUnapplied(_ number: Int, trigger: String?, startedAt: UInt64, because reason: String,
                              _ what: String = "rejected") {
        reloadOutcomes[.rejected, default: 0] += 1
        log.log(.error, "reload \(number): \(what), every endpoint kept as it was: \(reason), \(elapsed(since: startedAt)) ms",
                fields: reloadFields(number: number, trigger: trigger, startedAt: startedAt) + [("rejected", reason)])
    }

    private func reloadFields(number: Int, trigger: String?, startedAt: UInt64) -> [(String, String)] {
        [("reload", String(number)), ("trigger", trigger ?? ""), ("milliseconds", String(elapsed(since: startedAt))),
         ("runtimes", String(runtimeCount))]
    }

    private func elapsed(since start: UInt64) -> UInt64 { loop.now &- start }
}
