import BerthJS
package import BerthPlan
package import BerthStore

/// One handler module running in its own QuickJS runtime and context, driven by the broker: the broker owns the
/// event loop, sockets and timers and calls the `deliver…`/`fireTimer` methods; the runtime calls back through its
/// `HandlerHost`. Loop-confined: one thread at a time, never re-entered from a host method. Every entry into
/// JavaScript runs under the CPU budget and ends by running the queued jobs; exceptions become logged faults.
package final class HandlerRuntime {
    package static let defaultHeapLimit = ModuleBudget.defaultHeapLimit
    package static let defaultCPUBudgetMilliseconds = 1000.0
    /// Stack QuickJS may use per entry (less when the calling thread has less left).
    static let stackBudget = 1 << 20

    package let name: String
    package let transport: Transport
    package let port: Int
    package let heapLimit: Int
    package let cpuBudgetMilliseconds: Double
    /// The broker's store behind `ctx.shared` (nil: ctx has no `shared`), and this runtime's owner id in it.
    package let store: (any SharedStore)?
    package let storeOwner: SharedStoreOwnerID
    /// Where faults and dispatch times are counted (the endpoint's, shared by its generations).
    let meters: HandlerMeters?
    /// Set when the runtime hit its heap limit: every later dispatch is a no-op returning `.faulted`, so the broker
    /// closes the handler's sockets; `unload()` still frees it.
    package private(set) var isFailed = false
    package private(set) var isUnloaded = false

    /// Held strongly until `unload()`; a host that owns the runtime gets its cycle broken there.
    private(set) var host: (any HandlerHost)?
    private var loader: ModuleLoader?
    private(set) var context: JSContext?
    /// Buffer's class and Uint8Array's constructor, registered by buffer.js before anything uses them.
    var bufferClasses: BufferClasses?
    /// The structured-clone codec, made with the globals.
    var cloner: StructuredClone?
    /// The store's subscriptions made through ctx.shared.subscribe, by shared.js's subscription number, with
    /// the connection whose work their deliveries are.
    var sharedSubscriptions: [Int: (id: SharedStoreSubscriptionID, channel: String, owner: WorkOwner?)] = [:]
    /// The ctx.shared operations the store answers later, by request, with the promise each one returned.
    var storeRequests: [SharedStoreRequestID: StoreRequest] = [:]
    var lastStoreRequest = 0
    private var globals: GlobalsHooks?
    private var module: ModuleValues?
    /// Ids of the host timers scheduled and not yet fired or cancelled.
    var pendingTimers: Set<TimerID> = []
    /// Ids of the immediates set and not yet run or cleared; `immediateQueue` holds them in order from
    /// `immediateHead` on (a cleared one stays there and is skipped).
    var pendingImmediates: Set<TimerID> = []
    var immediateQueue: [TimerID] = []
    var immediateHead = 0
    /// Whether the host was asked for a `runImmediates()` call that has not happened yet.
    var isImmediateRunRequested = false
    /// The connection each pending timer or immediate works for: the one whose event was handled when it was set.
    var timerOwners: [TimerID: WorkOwner] = [:]
    /// A serial number per open connection, so work of a closed connection is never charged to a later connection
    /// that reuses its id.
    var openConnections: [ConnectionID: Int] = [:]
    var lastConnectionSerial = 0
    private var failure: String?
    /// True while JavaScript runs: a host method that calls back in trips a precondition instead of corrupting state.
    private var isRunning = false
    /// The connection whose work JavaScript is doing now (its event, the jobs after it, its timers and deliveries):
    /// a fault destroys it, and it is ctx.shared's publisher and subscriber origin, so a connection does not receive
    /// what it published itself.
    private(set) var activeConnection: ConnectionID?
    /// The first fault logged during the current dispatch besides its own exception (by a job, an unhandled
    /// rejection, or the script's reportFault).
    private var dispatchFault: String?
    private var closeCalled = false
    private var isSignalAborted = false
    private var openCompletion: ((DispatchOutcome) -> Void)?
    private var closeCompletion: ((DispatchOutcome) -> Void)?
    /// Completions whose outcome is known, run once JavaScript is left (a completion may call back in).
    private var readyCompletions: [((DispatchOutcome) -> Void, DispatchOutcome)] = []

    /// Loads `entry` (a path relative to `folder`) with what it imports, confined to the folder as the compiler's
    /// inspection is, installs the globals and evaluates the module. Throws when the module cannot start: a problem
    /// in its files, an exception or rejection in its evaluation (with the JS stack), or a missing `handle`
    /// (TCP) / `message` (UDP) export. `heapLimit` bounds the runtime's heap in bytes. With a `store`, ctx gets
    /// `shared` over it; `storeOwner` must be unique among the runtimes sharing the store (unload removes the
    /// subscriptions made under it). `sources` are the bytes the compiler checked (`DeploymentPlan.sources`): the files
    /// they hold are loaded from them, never read again.
    package init(
        folder: String, entry: String, sources: [String: [UInt8]] = [:], name: String, transport: Transport, port: Int,
        heapLimit: Int = HandlerRuntime.defaultHeapLimit,
        cpuBudgetMilliseconds: Double = HandlerRuntime.defaultCPUBudgetMilliseconds, host: any HandlerHost,
        store: (any SharedStore)? = nil, storeOwner: SharedStoreOwnerID = SharedStoreOwnerID(0),
        meters: HandlerMeters? = nil
    ) throws(HandlerLoadError) {
        (self.name, self.transport, self.port, self.meters) = (name, transport, port, meters)
        (self.heapLimit, self.cpuBudgetMilliseconds, self.host) = (heapLimit, cpuBudgetMilliseconds, host)
        (self.store, self.storeOwner) = (store, storeOwner)
        let context = JSContext(runtime: JSRuntime(memoryLimit: heapLimit, stackBudget: Self.stackBudget))
        self.context = context
        context.nativeHost = self
        try installGlobals(in: context)
        loader = ModuleLoader(
            folder: HandlerFolder(folder), context: context, sources: SourceCache(compiled: sources),
            budget: ModuleBudget(heapLimit: heapLimit)
        ) { [weak self] context, module in
            self?.initializeBuiltin(module, in: context) ?? false
        }
        try evaluate(entry: entry, in: context)
    }

    deinit {
        if !isUnloaded {
            cancelTimers()
            release()
        }
    }

    // MARK: Loading

    /// Evaluates berth's own modules (RuntimeModules), before the handler's loader exists, and keeps their hooks.
    private func installGlobals(in context: JSContext) throws(HandlerLoadError) {
        // berth's own modules run unbudgeted: they are finite, and a slow machine (or AddressSanitizer on a busy one)
        // must not fail a handler before any of its code ran.
        context.runtime.enter()
        let hooks: JSRef
        do {
            hooks = try RuntimeModules.evaluate(in: context) { context, host in
                NativeFunction.allCases.allSatisfy { native in
                    let made = context.newNativeFunction(
                        name: native.name, length: native.length, function: native.rawValue)
                    return context.setModuleExport(host, native.name, made)
                }
            }
        } catch {
            throw HandlerLoadError("\(name): the handler globals did not load: \(error.description)")
        }
        guard let intrinsics = hooks.property("clone") else { preconditionFailure("the globals returned no clone") }
        cloner = StructuredClone(context: context, intrinsics: intrinsics)
        globals = GlobalsHooks(hooks)
    }

    private func evaluate(entry: String, in context: JSContext) throws(HandlerLoadError) {
        guard let loader, let globals else { preconditionFailure("evaluate before the globals") }
        let runtime = context.runtime
        runtime.enter()
        let record: ModuleLoader.Record
        // Compiling runs without the heap limit (QuickJS cannot fail it safely); the budget bounds it instead.
        switch runtime.withoutMemoryLimit({ loader.loadEntry(entry) }) {
        case .refused(let problem): throw HandlerLoadError("\(name): \(problem.description)")
        case .loaded(let loaded): record = loaded
        }
        if loader.isPoisoned {
            throw HandlerLoadError(
                "\(name): \(entry) could not be compiled: \(loader.poisonCause?.description ?? "out of memory")")
        }
        var problems = loader.graph(of: record).flatMap(\.problems)
        if problems.isEmpty, let problem = loader.compiledProblem(of: record) { problems.append(problem) }
        guard problems.isEmpty, let compiled = record.module else {
            throw HandlerLoadError("\(name): " + problems.map(\.description).joined(separator: "\n"))
        }
        if runtime.heapBytes >= heapLimit {
            throw HandlerLoadError(
                "\(name): \(entry) and its imports filled the heap limit of \(ModuleBudget.describe(heapLimit)) "
                    + "when compiled (\(ModuleBudget.describe(runtime.heapBytes)) with the globals)")
        }

        let startedAt = runtime.arm(milliseconds: cpuBudgetMilliseconds)
        let failures = runtime.allocationFailures
        var thrown: JSError?
        var pending = false
        do {
            let promise = context.evaluate(compiled)
            if promise.isException {
                thrown = context.takeException()
            } else {
                // The evaluation's rejection is the load failure, thrown below: not also an unhandled rejection.
                drainJobs(context) {
                    if context.promiseState(promise) == .rejected {
                        context.forgetRejections(withReason: context.promiseResult(promise))
                    }
                }
                switch context.promiseState(promise) {
                case .rejected: thrown = JSError(context.promiseResult(promise))
                case .pending: pending = true
                default: break
                }
            }
        }
        runtime.disarm()
        if runtime.allocationFailures != failures {
            throw HandlerLoadError(
                "\(name): evaluating \(entry) ran out of memory (heap limit \(Self.mebibytes(heapLimit)))")
        }
        if runtime.wasInterrupted {
            throw HandlerLoadError(
                "\(name): evaluating \(entry) exceeded the CPU budget of \(budgetText)" + Self.stackSuffix(thrown))
        }
        if let thrown { throw HandlerLoadError("\(name): evaluating \(entry) threw: \(thrown.description)") }
        if pending {
            throw HandlerLoadError(
                "\(name): \(entry) awaits at its top level something that did not settle while it loaded; "
                    + "wait in open(ctx) instead, which the broker awaits")
        }

        let namespace: JSRef
        do { namespace = try context.namespace(of: compiled) } catch {
            throw HandlerLoadError("\(name): \(error.description)")
        }
        let entryName = transport.entryExport
        let exports = try ModuleValues(namespace: namespace, context: context, entryExport: entryName, name: name)

        runtime.arm(milliseconds: cpuBudgetMilliseconds)
        defer { runtime.disarm() }
        var makeContext = JSCall(context)
        makeContext.append(context.string(name))
        makeContext.append(context.number(port))
        makeContext.append(context.string(transport.rawValue))
        makeContext.append(context.bool(store != nil))
        let controller = makeContext.call(globals.createContext)
        var start = JSCall(context)
        start.append(transport == .tcp ? exports.entry.duplicate() : context.undefined)
        start.append(transport == .udp ? exports.entry.duplicate() : context.undefined)
        let started = start.call(globals.start)
        if controller.isException || started.isException {
            throw HandlerLoadError("\(name): ctx could not be made: \(context.takeException().description)")
        }
        exports.controller = controller
        module = exports
    }

    /// Sets the exports of node:buffer or node:events, as the loader declared them, from hooks.js's `modules`, when a
    /// module imports one.
    private func initializeBuiltin(_ builtin: JSModule, in context: JSContext) -> Bool {
        let name = context.name(of: builtin)
        guard let globals, let declared = ModuleLoader.builtins.first(where: { $0.name == name }),
            let exports = globals.modules.property(name), exports.isObject
        else {
            context.throwInternalError("\(name) is not available")
            return false
        }
        for export in declared.exports {
            guard let value = exports.property(export), context.setModuleExport(builtin, export, value) else {
                context.throwInternalError("\(name) could not export \(export)")
                return false
            }
        }
        return true
    }

    // MARK: Lifecycle

    /// Runs `open(ctx)` and calls `completion` once it has finished: at once when it returns a value or throws, when
    /// the promise it returns settles otherwise (during a later dispatch, after JavaScript is left). `.faulted` means
    /// the handler failed to start. Without an `open` export the completion runs at once with `.ok`.
    package func callOpen(_ completion: @escaping (DispatchOutcome) -> Void) {
        guard module?.hasOpen == true, !isFailed, !isUnloaded else {
            completion(isFailed || isUnloaded ? .faulted(unavailable) : .ok)
            return
        }
        openCompletion = completion
        runLifecycle(.open)
    }

    /// Aborts `ctx.signal` (its 'abort' event runs, with an AbortError DOMException as `reason`): the handler stops
    /// taking new work (a reload replaced or removed it, or the broker shuts down). Runs once.
    package func abortSignal() {
        guard !isSignalAborted, module != nil, !isFailed, !isUnloaded else { return }
        isSignalAborted = true
        dispatch(.abort) { context, globals in
            guard let module else { return context.undefined }
            var call = JSCall(context)
            call.append(module.controller.duplicate())
            call.append(context.string("The handler \(name) is being unloaded"))
            return call.call(globals.abort)
        }
    }

    /// Aborts `ctx.signal` if `abortSignal` has not, then runs `close(ctx)` and calls `completion` as `callOpen`
    /// does. Runs once; connections and timers keep working until `unload()`.
    package func callClose(_ completion: ((DispatchOutcome) -> Void)? = nil) {
        guard !closeCalled, module != nil, !isFailed, !isUnloaded else {
            completion?(isFailed || isUnloaded ? .faulted(unavailable) : .ok)
            return
        }
        closeCalled = true
        abortSignal()
        guard module?.hasClose == true, !isFailed, !isUnloaded else {
            completion?(isFailed || isUnloaded ? .faulted(unavailable) : .ok)
            return
        }
        closeCompletion = completion ?? { _ in }
        runLifecycle(.close)
    }

    /// The two calls the broker awaits, `open(ctx)` and `close(ctx)`; the number is what hooks.js passes
    /// back to `settle`.
    enum LifecycleStage: Int {
        case open, close

        var origin: Origin { self == .open ? .open : .close }
    }

    /// Calls open or close through the globals' `lifecycle` hook, which reports a returned promise's settling through
    /// `settle`. The completion runs here unless a promise is still pending. No JavaScript value is held by this frame
    /// or its callers when a completion runs: a completion may unload the runtime.
    private func runLifecycle(_ stage: LifecycleStage) {
        var isPending = false
        let outcome = dispatch(stage.origin) { context, globals in
            guard let module else { return context.undefined }
            var call = JSCall(context)
            call.append(context.number(stage.rawValue))
            call.append(stage == .open ? module.open.duplicate() : module.close.duplicate())
            let result = call.call(globals.lifecycle)
            isPending = result.bool ?? false
            return result
        }
        guard outcome != .ok || !isPending else { return }
        takeCompletion(of: stage)?(outcome)
    }

    /// The completion waiting for `stage`, removed.
    private func takeCompletion(of stage: LifecycleStage) -> ((DispatchOutcome) -> Void)? {
        switch stage {
        case .open:
            defer { openCompletion = nil }
            return openCompletion
        case .close:
            defer { closeCompletion = nil }
            return closeCompletion
        }
    }

    /// Aborts ctx.signal and runs close(ctx) if `callClose` has not, stops the handler's timers (`cancelTimer` for
    /// each pending one), and frees the runtime. Nothing of the handler runs afterwards; later calls are no-ops that
    /// return `.faulted`.
    package func unload() {
        precondition(!isRunning, "\(name): unload() called from inside JavaScript (a HandlerHost method)")
        guard !isUnloaded else { return }
        if !closeCalled && !isFailed { callClose() }
        cancelTimers()
        let waiting = [openCompletion, closeCompletion].compactMap { $0 }
        (openCompletion, closeCompletion) = (nil, nil)
        release()
        isUnloaded = true
        failure = "\(name): the handler is unloaded"
        host = nil
        for completion in waiting { completion(.faulted("\(name): unloaded before open() or close() finished")) }
    }

    /// Frees every JavaScript value the runtime holds, then the context and the runtime (QuickJS asserts no leaks).
    private func release() {
        store?.unsubscribeAll(owner: storeOwner)
        sharedSubscriptions.removeAll()
        storeRequests.removeAll()
        module = nil
        globals = nil
        bufferClasses = nil
        cloner = nil
        readyCompletions.removeAll()
        context?.nativeHost = nil
        loader = nil
        context = nil
    }

    private func cancelTimers() {
        let timers = pendingTimers
        pendingTimers.removeAll()
        pendingImmediates.removeAll()
        immediateQueue.removeAll()
        immediateHead = 0
        timerOwners.removeAll()
        for id in timers.sorted() { host?.cancelTimer(id: id) }
    }

    // MARK: Dispatch entry points

    /// Hands an accepted connection to `handle(conn, ctx)`; with `info.tls`, `conn` is a TLSSocket that also has the
    /// handshake's facts (a plain connection pays nothing for them). A throw, or a rejection of the promise `handle`
    /// returns, is a fault: logged, and the connection destroyed through the host.
    package func acceptConnection(_ connection: ConnectionID, _ info: ConnectionInfo) -> DispatchOutcome {
        precondition(transport == .tcp, "\(name) is a UDP handler")
        lastConnectionSerial += 1
        openConnections[connection] = lastConnectionSerial
        return dispatch(.handle, connection: connection) { context, globals in
            var call = JSCall(context)
            call.append(context.number(connection.rawValue))
            call.append(context.string(info.remoteAddress))
            call.append(context.number(info.remotePort))
            call.append(context.string(info.remoteFamily.rawValue))
            call.append(context.string(info.localAddress))
            call.append(context.number(info.localPort))
            guard let tls = info.tls else { return call.call(globals.accept) }
            let facts = tlsFacts(tls, in: context)
            if facts.isException { return facts }
            call.append(facts)
            return call.call(globals.acceptTLS)
        }
    }

    /// Emits 'data' on the connection with a Buffer holding a copy of `bytes` (one ArrayBuffer on the JS heap, no
    /// Swift allocation).
    package func deliverData(_ connection: ConnectionID, _ bytes: RawSpan) -> DispatchOutcome {
        dispatch(.event("'data'"), connection: connection) { context, globals in
            guard let classes = bufferClasses else { preconditionFailure("the globals registered no Buffer") }
            let buffer = bytes.withUnsafeBytes { bytes in
                unsafe context.newUint8Array(copying: bytes, constructor: classes.uint8Array, newTarget: classes.buffer)
            }
            if buffer.isException { return buffer }
            var call = JSCall(context)
            call.append(context.number(connection.rawValue))
            call.append(buffer)
            return call.call(globals.data)
        }
    }

    /// The peer's FIN: 'end' (once the data before it is consumed), then the connection ends its own side.
    package func deliverEnd(_ connection: ConnectionID) -> DispatchOutcome {
        dispatch(.event("'end'"), connection: connection) { context, globals in
            var call = JSCall(context)
            call.append(context.number(connection.rawValue))
            return call.call(globals.end)
        }
    }

    /// `byteCount` more bytes of the connection's writes left the host's queue (write callbacks, 'drain', 'finish').
    package func deliverWritten(_ connection: ConnectionID, byteCount: Int) -> DispatchOutcome {
        dispatch(.event("a write callback or 'drain'"), connection: connection) { context, globals in
            var call = JSCall(context)
            call.append(context.number(connection.rawValue))
            call.append(context.number(byteCount))
            return call.call(globals.written)
        }
    }

    /// A socket error (`code` like "ECONNRESET", `message` like "read ECONNRESET"); the host then closes the
    /// connection and delivers its close, where 'error' and then 'close' are emitted.
    package func deliverError(_ connection: ConnectionID, code: String, message: String) -> DispatchOutcome {
        dispatch(.event("'error'"), connection: connection) { context, globals in
            var call = JSCall(context)
            call.append(context.number(connection.rawValue))
            call.append(context.string(code))
            call.append(context.string(message))
            return call.call(globals.error)
        }
    }

    /// The connection is closed: pending write callbacks fail, 'error' (if one is pending) and then 'close' are
    /// emitted, once. The id is free afterwards.
    package func deliverClose(_ connection: ConnectionID, hadError: Bool) -> DispatchOutcome {
        openConnections[connection] = nil
        return dispatch(.event("'close'")) { context, globals in
            var call = JSCall(context)
            call.append(context.number(connection.rawValue))
            call.append(context.bool(hadError))
            return call.call(globals.close)
        }
    }

    /// Calls `message(msg, rinfo, ctx)` with `msg` a Buffer copy of `bytes` and `rinfo = {address, family, port,
    /// size}`. A throw or a rejection is a logged fault.
    package func deliverDatagram(
        _ bytes: RawSpan, address: String, family: AddressFamily, port: Int
    ) -> DispatchOutcome {
        precondition(transport == .udp, "\(name) is a TCP handler")
        return dispatch(.message) { context, globals in
            guard let classes = bufferClasses else { preconditionFailure("the globals registered no Buffer") }
            let buffer = bytes.withUnsafeBytes { bytes in
                unsafe context.newUint8Array(copying: bytes, constructor: classes.uint8Array, newTarget: classes.buffer)
            }
            if buffer.isException { return buffer }
            var call = JSCall(context)
            call.append(buffer)
            call.append(context.string(address))
            call.append(context.string(family.rawValue))
            call.append(context.number(port))
            return call.call(globals.datagram)
        }
    }

    /// Runs the callback of timer `id` (setTimeout, setInterval or an internal one) that the host scheduled; an id no
    /// longer pending is ignored.
    package func fireTimer(id: TimerID) -> DispatchOutcome {
        guard pendingTimers.remove(id) != nil else { return .ok }
        return runTimer(id)
    }

    /// Runs the immediates queued before this call, in order, each as its own dispatch, at most `immediatesPerRun`;
    /// ones set meanwhile wait for the next call, as in Node. Asks the host for another call while any are left.
    /// Returns the last fault, if any.
    package func runImmediates() -> DispatchOutcome {
        isImmediateRunRequested = false
        let end = min(immediateQueue.count, immediateHead + Self.immediatesPerRun)
        var outcome = DispatchOutcome.ok
        while immediateHead < end, !isFailed, !isUnloaded {
            let id = immediateQueue[immediateHead]
            immediateHead += 1
            guard pendingImmediates.remove(id) != nil else { continue }
            if case .faulted(let fault) = runTimer(id) { outcome = .faulted(fault) }
        }
        if immediateHead == immediateQueue.count {
            immediateQueue.removeAll(keepingCapacity: true)
            immediateHead = 0
        } else if immediateHead >= Self.immediatesPerRun {
            immediateQueue.removeFirst(immediateHead)
            immediateHead = 0
        }
        if immediateHead < immediateQueue.count { requestImmediateRun() }
        return isFailed ? .faulted(unavailable) : outcome
    }

    /// The work of a timer or an immediate: for its owner connection while that connection is open.
    private func runTimer(_ id: TimerID) -> DispatchOutcome {
        let owner = timerOwners.removeValue(forKey: id).flatMap(openConnection)
        return dispatch(.timer, connection: owner) { context, globals in
            var call = JSCall(context)
            call.append(context.number(id.rawValue))
            return call.call(globals.timer)
        }
    }

    /// A message the store delivers to ctx.shared subscription `id` (the broker runs `SharedStore.deliverPending()`
    /// from its loop, never while JavaScript runs): decoded afresh into this runtime and handed to the subscriber, as
    /// one dispatch. A subscriber that throws is a logged fault of this handler, and of the connection that subscribed
    /// while it is open; nothing else is affected.
    func deliverShared(_ id: Int, _ message: [UInt8]) {
        guard let subscription = sharedSubscriptions[id] else { return }
        let owner = subscription.owner.flatMap(openConnection)
        dispatch(.named("a ctx.shared subscriber of \"\(subscription.channel)\""), connection: owner) {
            context, globals in
            guard let cloner else { return context.undefined }
            let value = cloner.decode(message)
            if value.isException { return value }
            var call = JSCall(context)
            call.append(context.number(id))
            call.append(value)
            return call.call(globals.sharedDeliver)
        }
    }

    // MARK: Dispatching

    /// Where a fault happened, for the log line.
    enum Origin: CustomStringConvertible {
        case open, close, abort, handle, message, timer, destroy
        case event(String)
        case named(String)

        var description: String {
            switch self {
            case .open: "open()"
            case .close: "close()"
            case .abort: "an 'abort' listener of ctx.signal"
            case .handle: "handle()"
            case .message: "message()"
            case .timer: "a timer callback"
            case .destroy: "destroying a faulted connection"
            case .event(let event): "a listener of \(event)"
            case .named(let origin): origin
            }
        }
    }

    /// The one way into JavaScript: `body` runs under the CPU budget, then the jobs it queued run until none is left.
    /// An exception, an interrupt, an allocation failure, a throwing job or an unhandled rejection becomes a logged
    /// fault; when the dispatch is a connection's work (`connection`), that connection is destroyed. Completions that
    /// became ready run last, once JavaScript and every reference this dispatch took are left behind (a completion
    /// may unload the runtime).
    @discardableResult
    func dispatch(
        _ origin: Origin, connection: ConnectionID? = nil, _ body: (JSContext, GlobalsHooks) -> JSRef
    ) -> DispatchOutcome {
        precondition(!isRunning, "\(name): HandlerRuntime entered again from inside JavaScript (a HandlerHost method)")
        guard !isFailed, !isUnloaded else { return .faulted(unavailable) }
        let fault = run(origin, connection, body)
        if let connection, fault != nil || isFailed {
            if isFailed {
                host?.destroy(connection: connection)
            } else {
                run(.destroy, nil) { context, globals in
                    var call = JSCall(context)
                    call.append(context.number(connection.rawValue))
                    return call.call(globals.destroy)
                }
            }
        }
        runReadyCompletions()
        if isFailed { return .faulted(unavailable) }
        return fault.map(DispatchOutcome.faulted) ?? .ok
    }

    /// One entry into JavaScript and the job queue after it; returns the fault it logged, if any.
    @discardableResult
    private func run(
        _ origin: Origin, _ connection: ConnectionID?, _ body: (JSContext, GlobalsHooks) -> JSRef
    ) -> String? {
        guard !isFailed, let context, let globals else { return nil }
        (isRunning, activeConnection, dispatchFault) = (true, connection, nil)
        defer { (isRunning, activeConnection, dispatchFault) = (false, nil, nil) }
        let runtime = context.runtime
        runtime.enter()
        let startedAt = runtime.arm(milliseconds: cpuBudgetMilliseconds)
        let failures = runtime.allocationFailures
        var fault: String?
        do {
            let result = body(context, globals)
            if result.isException {
                var error = context.takeException()
                if error.isOutOfMemory && error.stack == nil && runtime.allocationFailures == failures {
                    error = JSError(name: "Uncaught", message: "null")  // `throw null`, not QuickJS out of memory
                }
                fault = faultMessage(error, origin, connection)
            }
        }
        drainJobs(context)
        if runtime.wasInterrupted && !(fault?.contains(budgetText) ?? false) {
            fault =
                "\(name): \(Self.place(origin, connection)) exceeded the CPU budget of \(budgetText) and was stopped"
        }
        runtime.disarm()
        if let times = meters?.dispatchTimes { times.record(nanoseconds: JSRuntime.monotonicNanoseconds() &- startedAt) }
        if runtime.allocationFailures != failures {
            fail(in: origin)
        } else if let fault {
            logFault(fault, runtime.wasInterrupted ? .cpuBudget : .exception)
        }
        return fault ?? dispatchFault
    }

    /// Runs the job queue dry, logging what throws, then logs the rejections nothing handled. A rejection with the
    /// interrupt's error is left out: the budget fault already names it, as it names every job interrupted after the
    /// first. `beforeLogging` runs once the jobs ran, to forget rejections the caller reports itself.
    private func drainJobs(_ context: JSContext, beforeLogging: () -> Void = {}) {
        var interruptedJobs = 0
        context.runtime.executePendingJobs { failed in
            let error = failed.takeException()
            if error.isInterrupt && context.runtime.wasInterrupted {
                interruptedJobs += 1
                shiftInterruptCheck(context, calls: interruptedJobs)
                if interruptedJobs > 1 { return }
            }
            reportFault(faultMessage(error, .named("a job"), activeConnection), Self.faultKind(of: error))
        }
        beforeLogging()
        for rejection in context.takeUnhandledRejections() {
            let error = JSError(rejection.reason)
            if error.isInterrupt && context.runtime.wasInterrupted { continue }
            let place = activeConnection.map { " (connection \($0))" } ?? ""
            reportFault("\(name): unhandled promise rejection\(place): \(error.description)", .rejection)
        }
    }

    /// Moves QuickJS's next interrupt check `calls` calls later, after a job failed by the interrupt. QuickJS checks
    /// once every 10,000 calls, counted afresh at each check, and a job interrupted before it ends fails (a job
    /// interrupted inside a `then` handler rejects its promise instead and ends). In a chain whose job makes the same
    /// calls every time (`const f = () => { Promise.resolve().then(f); }`), the check after such a failure therefore
    /// lands at the same call of the job each time: when that call comes after the job queued its successor, each
    /// interrupt fails one job and the chain runs on forever. Making the n-th failure's next check come n calls later
    /// walks the checks through the job's calls, one by one, until one lands before the queuing and the chain ends.
    private func shiftInterruptCheck(_ context: JSContext, calls: Int) {
        guard let globals else { return }
        for _ in 0..<calls {
            var call = JSCall(context)
            if call.call(globals.pass).isException { _ = context.takeException() }
        }
    }

    /// Logs a fault of the current work; the dispatch then destroys its connection, if it has one.
    func reportFault(_ message: String, _ kind: HandlerMeters.FaultKind) {
        logFault(message, kind)
        if dispatchFault == nil { dispatchFault = message }
    }

    /// Every fault is logged, and counted by kind, here.
    func logFault(_ message: String, _ kind: HandlerMeters.FaultKind) {
        host?.log(.error, message)
        meters?.count(kind)
    }

    static func faultKind(of error: JSError, rejected: Bool = false) -> HandlerMeters.FaultKind {
        error.isInterrupt ? .cpuBudget : rejected ? .rejection : .exception
    }

    /// Marks the runtime failed after an allocation failure: logged once, timers stopped, waiting completions faulted.
    private func fail(in origin: Origin) {
        isFailed = true
        let message =
            "\(name): out of memory in \(origin) (heap limit \(Self.mebibytes(heapLimit))); "
            + "the handler is stopped and its connections are closed"
        failure = message
        logFault(message, .outOfMemory)
        cancelTimers()
        for waiting in [openCompletion, closeCompletion].compactMap({ $0 }) {
            readyCompletions.append((waiting, .faulted(message)))
        }
        (openCompletion, closeCompletion) = (nil, nil)
    }

    private func runReadyCompletions() {
        while !readyCompletions.isEmpty {
            let (completion, outcome) = readyCompletions.removeFirst()
            completion(outcome)
        }
    }

    /// Called from hooks.js (through the native `settle`) when the promise of open() or close() settles.
    func settle(_ stage: LifecycleStage, outcome: DispatchOutcome) {
        if let waiting = takeCompletion(of: stage) { readyCompletions.append((waiting, outcome)) }
    }

    // MARK: Messages

    private var unavailable: String { failure ?? "\(name): the handler is not running" }

    var budgetText: String {
        cpuBudgetMilliseconds == cpuBudgetMilliseconds.rounded()
            ? "\(Int(cpuBudgetMilliseconds)) ms" : "\(cpuBudgetMilliseconds) ms"
    }

    static func mebibytes(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    private static func place(_ origin: Origin, _ connection: ConnectionID?) -> String {
        connection.map { "\(origin) (connection \($0))" } ?? "\(origin)"
    }

    private static func stackSuffix(_ error: JSError?) -> String {
        guard let stack = error?.stack, !stack.isEmpty else { return "" }
        return "\n" + (stack.hasSuffix("\n") ? String(stack.dropLast()) : stack)
    }

    /// The log line of a fault: the handler, where, and the error with its JS stack.
    func faultMessage(
        _ error: JSError, _ origin: Origin, _ connection: ConnectionID?, rejected: Bool = false
    ) -> String {
        let place = Self.place(origin, connection)
        if error.isInterrupt {
            return "\(name): \(place) exceeded the CPU budget of \(budgetText) and was stopped"
                + Self.stackSuffix(error)
        }
        if rejected { return "\(name): \(place) rejected: \(error.description)" }
        return "\(name): uncaught exception in \(place): \(error.description)"
    }
}

/// The exports of the runtime's hooks.js, one JS function per broker event; freed before the context.
final class GlobalsHooks {
    let modules: JSRef
    let createContext: JSRef
    let start: JSRef
    let lifecycle: JSRef
    let abort: JSRef
    let accept: JSRef
    let acceptTLS: JSRef
    let data: JSRef
    let end: JSRef
    let written: JSRef
    let error: JSRef
    let close: JSRef
    let destroy: JSRef
    let datagram: JSRef
    let timer: JSRef
    let sharedDeliver: JSRef
    let pass: JSRef

    init(_ hooks: borrowing JSRef) {
        func hook(_ name: String) -> JSRef {
            guard let value = hooks.property(name), value.isObject else {
                preconditionFailure("hooks.js exports no \(name)")
            }
            return value
        }
        modules = hook("modules")
        createContext = hook("createContext")
        start = hook("start")
        lifecycle = hook("lifecycle")
        abort = hook("abort")
        accept = hook("accept")
        acceptTLS = hook("acceptTLS")
        data = hook("data")
        end = hook("end")
        written = hook("written")
        error = hook("error")
        close = hook("close")
        destroy = hook("destroy")
        datagram = hook("datagram")
        timer = hook("timer")
        sharedDeliver = hook("sharedDeliver")
        pass = hook("pass")
    }
}

/// Buffer's class (FastBuffer) and Uint8Array's constructor, for making Buffers without running JavaScript.
final class BufferClasses {
    let buffer: JSRef
    let uint8Array: JSRef
    init(buffer: consuming JSRef, uint8Array: consuming JSRef) {
        self.buffer = buffer
        self.uint8Array = uint8Array
    }
}

/// What the evaluated module provides: its entry function (`handle` or `message`), `open` and `close` when it exports
/// them, and the AbortController behind ctx.signal.
final class ModuleValues {
    let entry: JSRef
    let open: JSRef
    let close: JSRef
    let hasOpen: Bool
    let hasClose: Bool
    var controller: JSRef

    init(namespace: borrowing JSRef, context: JSContext, entryExport: String, name: String) throws(HandlerLoadError) {
        func function(_ export: String, required: Bool) throws(HandlerLoadError) -> JSRef? {
            guard let value = namespace.property(export) else {
                throw HandlerLoadError("\(name): reading the export \(export) threw")
            }
            if value.isFunction { return value }
            if value.isUndefined && !required { return nil }
            throw HandlerLoadError(
                "\(name): the module must export a function named \(export); it exports "
                    + (value.isUndefined ? "none" : "a \(value.typeName)"))
        }
        guard let entry = try function(entryExport, required: true) else { preconditionFailure() }
        self.entry = entry
        let open = try function("open", required: false)
        hasOpen = open != nil
        self.open = open ?? context.undefined
        let close = try function("close", required: false)
        hasClose = close != nil
        self.close = close ?? context.undefined
        controller = context.undefined
    }
}
