import BerthPlan
import BerthTLS

/// One transport and port the broker serves (`tcp/7000`): its socket, its screen and counters, and the generations
/// of its handler. It lives as long as the endpoint is in the plan: a code change gives it a new generation, a policy
/// change a new screen configuration, and neither closes the socket, so no connection is refused by a reload.
final class PortClaim {
    /// The endpoint as last applied: its policy and limits screen new work; its code is the serving generation's.
    private(set) var endpoint: Endpoint
    let screen: ConnectionScreen
    /// Its counters for `/metrics`; the screen counts the refusals.
    let meters: ClaimMeters
    private let loop: EventLoop
    private let options: ServeOptions
    private let log: BrokerLog
    private var listener: TCPListener?
    /// What new TLS handshakes use; nil for a plain endpoint. A rotation replaces it: open connections keep theirs.
    private(set) var tls: TLSServerContext?
    /// Connections admitted and still in their TLS handshake, which no generation has yet.
    private var handshaking: [ObjectIdentifier: TLSConnection] = [:]
    private var udpSocket: UDPSocket?
    /// The generation new connections and datagrams go to; nil before the first one opened, and after a failure.
    private(set) var serving: Generation?
    /// Replaced generations whose connections continue.
    private(set) var draining: [Generation] = []
    /// Generations numbered so far: the next one is `generations + 1`.
    private(set) var generations = 0
    /// The last datagram's sender and its text: a reply usually goes straight back to it, so neither direction
    /// formats or parses an address per datagram.
    private var lastSender: (ip: IPAddress, text: String)?
    private var idleSweep: LoopTimer?
    /// Logs the refusals of the last interval, at most one line per interval, so a flood cannot flood the log.
    private var refusalSummary: LoopTimer?
    static let refusalSummaryMilliseconds: UInt64 = 5000
    /// Called when a generation has closed its last connection (the broker's shutdown waits for all of them), and with
    /// the generation when one was freed.
    var onDrained: ((_ unloaded: Generation?) -> Void)?
    /// Called when the serving generation failed on its own: the claim no longer accepts.
    var onFailed: ((PortClaim) -> Void)?

    /// Binds the port (not yet listening): a port that cannot be bound fails before any handler code runs. `tls` is
    /// the endpoint's handshake context, built from the plan's credentials (`Broker`).
    init(endpoint: Endpoint, tls: TLSServerContext?, loop: EventLoop, options: ServeOptions, log: BrokerLog)
        throws(LoopError)
    {
        (self.endpoint, self.tls, self.loop, self.options, self.log) = (endpoint, tls, loop, options, log)
        screen = ConnectionScreen(endpoint: endpoint)
        meters = ClaimMeters(timesDispatches: options.metrics != nil)
        switch endpoint.transport {
        case .tcp:
            let listener = try TCPListener(loop: loop, host: options.bindAddress, port: endpoint.port)
            self.listener = listener
            listener.delegate = self
        case .udp:
            let socket = try UDPSocket(loop: loop, host: options.bindAddress, port: endpoint.port)
            udpSocket = socket
            socket.delegate = self
        }
    }

    var isAccepting: Bool { listener != nil || udpSocket != nil }
    var openConnectionCount: Int { ([serving].compactMap { $0 } + draining).reduce(0) { $0 + $1.openConnectionCount } }
    /// Bytes received and sent so far: the closed connections' and datagrams', and the open connections'.
    var receivedBytes: Int { generations(\.receivedBytes) + meters.receivedBytes }
    var sentBytes: Int { generations(\.sentBytes) + meters.sentBytes }

    private func generations(_ bytes: KeyPath<TCPConnection, Int>) -> Int {
        ([serving].compactMap { $0 } + draining).reduce(0) { total, generation in
            generation.connections.values.reduce(total) { $0 + $1.tcp[keyPath: bytes] }
        }
    }

    /// Runtimes alive for this claim: the serving one and those draining.
    var runtimeCount: Int { (serving == nil ? 0 : 1) + draining.count }

    /// The number the next generation of this claim gets.
    func nextGenerationNumber() -> Int {
        generations += 1
        return generations
    }

    /// Routes new work to `generation`, which finished `open(ctx)`; the first one starts the socket listening. The
    /// generation it replaces retires: its connections may finish within the grace period.
    func serve(_ generation: Generation) throws(LoopError) {
        if serving == nil, let listener, !listener.isListening { try listener.startListening() }
        if let udpSocket, serving == nil { udpSocket.startReceiving() }
        let previous = serving
        serving = generation
        generation.onFailed = { [weak self] failed in self?.failed(failed) }
        generation.onUnloaded = { [weak self] unloaded in self?.forget(unloaded) }
        if let previous {
            log.log(.info, "generation \(generation.number) serving \(endpoint.claim)", handler: generation.endpoint.name,
                    fields: [("generation", String(generation.number)), ("file", generation.endpoint.file)])
            draining.append(previous)
            previous.retire(graceMilliseconds: options.graceMilliseconds)
        }
        startTimers()
    }

    /// Screens by `endpoint`'s policy and limits from now on, and new handshakes use `tls` when given (a plain
    /// endpoint drops its context); open connections carry on with what they have.
    func update(to endpoint: Endpoint, tls newTLS: TLSServerContext?) {
        self.endpoint = endpoint
        screen.update(to: endpoint)
        restartIdleSweep()
        if endpoint.tls == nil {
            tls = nil
        } else if let newTLS {
            tls = newTLS
            let first = newTLS.settings.certificates[0]
            log.log(.info, "tls certificates on \(endpoint.claim) now \(newTLS.leafSHA256.prefix(12)) (until \(first.notAfter))",
                    handler: endpoint.name, fields: [("certificate", first.certificate), ("sha256", newTLS.leafSHA256)])
        }
    }

    /// Stops taking connections and datagrams (the port refuses from now on); the serving generation retires, and
    /// its connections may finish within `graceMilliseconds` (the shutdown passes nil: it runs its own grace timer,
    /// and `close(ctx)` runs at once).
    func stopAccepting(graceMilliseconds: Int?) {
        listener?.close()
        listener = nil
        let unfinished = handshaking.values
        handshaking.removeAll()
        for connection in unfinished { connection.close() }
        udpSocket?.close()
        udpSocket = nil
        if let serving {
            draining.append(serving)
            self.serving = nil
            if let graceMilliseconds { serving.retire(graceMilliseconds: graceMilliseconds) } else { serving.shutDown() }
        }
        if graceMilliseconds == nil { for generation in draining { generation.shutDown() } }
        if openConnectionCount == 0 { stopTimers() }
    }

    /// Destroys every open connection of every generation (the grace period is over).
    func destroyConnections() {
        for generation in [serving].compactMap({ $0 }) + draining { generation.destroyConnections() }
    }

    /// Frees every generation now; nothing of the handler runs afterwards.
    func unload() {
        stopAccepting(graceMilliseconds: nil)
        for generation in draining { generation.unload() }
    }

    func generationDrained(_ generation: Generation) {
        if !isAccepting, openConnectionCount == 0 { stopTimers() }
        onDrained?(nil)
    }

    private func forget(_ generation: Generation) {
        draining.removeAll { $0 === generation }
        if serving === generation { serving = nil }
        onDrained?(generation)
    }

    private func failed(_ generation: Generation) {
        guard serving === generation else { return }
        serving = nil
        draining.append(generation)
        stopAccepting(graceMilliseconds: options.graceMilliseconds)
        onFailed?(self)
    }

    func send(_ datagram: RawSpan, to address: String, port: Int, from handler: String) {
        let destination = lastSender.flatMap { $0.text == address && (0...65535).contains(port) ? SocketAddress(ip: $0.ip, port: port) : nil }
            ?? SocketAddress(address: address, port: port)
        guard let socket = udpSocket, let destination else {
            log.log(.warn, "ctx.reply: \(address):\(port) is not an address to reply to", handler: handler)
            return
        }
        do {
            try unsafe datagram.withUnsafeBytes { bytes throws(LoopError) in
                try unsafe socket.send(bytes, to: destination)
            }
            meters.sentBytes += datagram.byteCount
        } catch {
            log.log(.warn, "ctx.reply to \(destination) failed: \(error.message)", handler: handler)
        }
    }

    // MARK: Timers

    private func startTimers() {
        if refusalSummary == nil {
            let summary = LoopTimer(loop: loop)
            summary.start(after: Self.refusalSummaryMilliseconds, repeat: Self.refusalSummaryMilliseconds) { [weak self] in
                self?.logRefusals()
            }
            summary.keepsLoopAlive = false
            refusalSummary = summary
        }
        if idleSweep == nil { restartIdleSweep() }
    }

    private func restartIdleSweep() {
        guard endpoint.transport == .tcp, refusalSummary != nil else { return }
        idleSweep?.close()
        let idle = UInt64(endpoint.limits.idleTimeoutMilliseconds)
        let sweep = LoopTimer(loop: loop)
        let interval = max(50, idle / 10)
        sweep.start(after: interval, repeat: interval) { [weak self] in self?.closeIdleConnections(olderThan: idle) }
        sweep.keepsLoopAlive = false
        idleSweep = sweep
    }

    private func stopTimers() {
        logRefusals()
        refusalSummary?.close()
        refusalSummary = nil
        idleSweep?.close()
        idleSweep = nil
    }

    private func closeIdleConnections(olderThan idle: UInt64) {
        let now = loop.now
        for generation in [serving].compactMap({ $0 }) + draining {
            let closed = generation.closeIdleConnections(olderThan: idle, now: now)
            if closed > 0 { screen.record(.idleTimeout, count: closed) }
        }
    }

    private func logRefusals() {
        screen.expireIdleSources(now: loop.now)
        let refusals = screen.takeRefusals()
        guard !refusals.isEmpty else { return }
        let total = refusals.values.reduce(0, +)
        let reasons = refusals.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, String($0.value)) }
            + [("sources", String(screen.trackedSources))]
        log.log(.warn, "refused \(total) in the last \(Self.refusalSummaryMilliseconds / 1000)s on \(endpoint.claim)",
                handler: endpoint.name, fields: reasons)
    }
}

extension PortClaim: TCPListenerDelegate {
    func listener(_ listener: TCPListener, accepted connection: TCPConnection) {
        guard let serving, case .admit = screen.admitConnection(from: connection.remote.ip, now: loop.now) else {
            connection.reset()
            return
        }
        meters.connectionsAccepted += 1
        guard let tls else {
            serving.accept(.plain(connection), grouping: screen.grouping)
            return
        }
        // Screened first: a refused source never got here, and cost no cryptography.
        let secured = TLSConnection(
            tcp: connection, context: tls, timeoutMilliseconds: tls.settings.handshakeTimeoutMilliseconds,
            grouping: screen.grouping, loop: loop
        ) { [weak self] connection, failure in self?.handshakeFinished(connection, failure) }
        handshaking[ObjectIdentifier(secured)] = secured
    }

    /// A handshake ended: the connection goes to the serving generation, or its failure is counted (never logged one
    /// by one).
    private func handshakeFinished(_ connection: TLSConnection, _ failure: TLSHandshakeFailure?) {
        guard handshaking.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        if failure == nil, let serving {
            meters.tlsHandshakes += 1
            serving.accept(.tls(connection), grouping: connection.grouping)
            return
        }
        if let failure { screen.record(ConnectionScreen.Reason(failure)) }
        (meters.receivedBytes, meters.sentBytes) = (meters.receivedBytes + connection.tcp.receivedBytes,
                                                    meters.sentBytes + connection.tcp.sentBytes)
        connection.close()
        screen.connectionClosed(from: connection.remote.ip, grouping: connection.grouping)
    }

    /// Counted into the summary line, never logged one by one: a flood of resets would flood the log.
    func listener(_ listener: TCPListener, failedToAccept error: LoopError) {
        let isReset = ["ENOTCONN", "ECONNABORTED", "ECONNRESET"].contains(error.code)
        screen.record(isReset ? .resetBeforeAccept : .acceptFailed)
    }

    func listener(_ listener: TCPListener, reset count: Int, outOfDescriptors error: LoopError, isNew: Bool) {
        screen.record(.descriptorLimit, count: count)
        guard isNew else { return }
        let maximum = loop.descriptorLimit.map { ", limit \($0)" } ?? ""
        log.log(.error, "out of file descriptors (\(error.message)\(maximum)): new connections on every port are reset "
                + "until descriptors free up; the summary lines count them as descriptor-limit",
                fields: [("code", error.code)])
    }
}

extension PortClaim: UDPSocketDelegate {
    func socket(_ socket: UDPSocket, didReceive bytes: UnsafeRawBufferPointer, from sender: SocketAddress) {
        guard let serving, case .admit = screen.admitDatagram(from: sender.ip, now: loop.now) else { return }
        (meters.datagramsAccepted, meters.receivedBytes) = (meters.datagramsAccepted + 1, meters.receivedBytes + bytes.count)
        let text: String
        if let last = lastSender, last.ip == sender.ip { text = last.text } else {
            text = sender.address
            lastSender = (sender.ip, text)
        }
        unsafe serving.receive(RawSpan(_unsafeBytes: bytes), from: sender, text: text)
    }

    func socket(_ socket: UDPSocket, didFail error: LoopError) {
        log.log(.warn, "UDP socket error: \(error.message)", handler: endpoint.name, fields: [("code", error.code)])
    }
}
