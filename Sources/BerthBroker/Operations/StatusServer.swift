import BerthPlan

/// `--metrics ADDR:PORT`: a small HTTP/1.1 server on the broker's loop for `/metrics`, `/healthz` and `/readyz`.
/// Because it runs on the loop, an answer at all proves the loop turns. One request per connection (`Connection:
/// close`); requests are bounded in size, time and number, so a scraper gone wrong cannot cost the broker more.
final class StatusServer {
    /// What a path answers: status code and reason, content type, body.
    struct Response {
        var status: Int
        var reason: String
        var contentType = "text/plain; charset=utf-8"
        var body: String
    }

    static let maxRequestBytes = 8192
    static let maxConnections = 64
    static let requestTimeoutMilliseconds: UInt64 = 10_000

    private let listener: TCPListener
    private let loop: EventLoop
    private let respond: (_ path: String) -> Response?
    private var requests: [ObjectIdentifier: StatusRequest] = [:]
    private var sweep: LoopTimer?

    /// Binds and listens on `address`; `respond` answers a GET or HEAD of a path, nil for 404.
    init(address: SocketAddress, loop: EventLoop, respond: @escaping (String) -> Response?) throws(LoopError) {
        (self.loop, self.respond) = (loop, respond)
        listener = try TCPListener(loop: loop, host: address.address, port: address.port, backlog: 64)
        listener.delegate = self
        try listener.startListening()
        let sweep = LoopTimer(loop: loop)
        sweep.keepsLoopAlive = false
        sweep.start(after: 1000, repeat: 1000) { [weak self] in self?.closeSlowRequests() }
        self.sweep = sweep
    }

    var boundAddress: SocketAddress { listener.localAddress }

    func close() {
        listener.close()
        sweep?.close()
        sweep = nil
        for request in requests.values { request.connection.close() }
    }

    private func closeSlowRequests() {
        let now = loop.now
        for request in requests.values where now &- request.startedAt >= Self.requestTimeoutMilliseconds {
            request.connection.close()
        }
    }

    fileprivate func received(_ head: String, on request: StatusRequest) {
        let words = head.prefix { !$0.isNewline }.split(separator: " ")
        let response: Response
        var isHead = false
        if words.count != 3 || !words[2].hasPrefix("HTTP/1.") {
            response = Response(status: 400, reason: "Bad Request", body: "bad request\n")
        } else if words[0] != "GET" && words[0] != "HEAD" {
            response = Response(status: 405, reason: "Method Not Allowed", body: "only GET and HEAD\n")
        } else {
            isHead = words[0] == "HEAD"
            let path = String(words[1].prefix { $0 != "?" })
            response = respond(path) ?? Response(status: 404, reason: "Not Found",
                                                 body: "not found: try /metrics, /healthz or /readyz\n")
        }
        let body = Array(response.body.utf8)
        var bytes = Array(("HTTP/1.1 \(response.status) \(response.reason)\r\nContent-Type: \(response.contentType)\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n"
            + (response.status == 405 ? "Allow: GET, HEAD\r\n" : "") + "\r\n").utf8)
        if !isHead { bytes += body }
        do {
            try request.connection.write(bytes)
            request.connection.shutdown()
        } catch {
            request.connection.close()
        }
    }

    fileprivate func closed(_ request: StatusRequest) {
        requests[ObjectIdentifier(request)] = nil
    }
}

extension StatusServer: TCPListenerDelegate {
    func listener(_ listener: TCPListener, accepted connection: TCPConnection) {
        guard requests.count < Self.maxConnections else {
            connection.reset()
            return
        }
        let request = StatusRequest(connection: connection, server: self, startedAt: loop.now)
        requests[ObjectIdentifier(request)] = request
        connection.delegate = request
        connection.startReading()
    }

    func listener(_ listener: TCPListener, failedToAccept error: LoopError) {}
    func listener(_ listener: TCPListener, reset count: Int, outOfDescriptors error: LoopError, isNew: Bool) {}
}

/// One connection to the status server: it reads the request head, then the server answers and ends it.
private final class StatusRequest: TCPConnectionDelegate {
    let connection: TCPConnection
    let startedAt: UInt64
    private weak var server: StatusServer?
    private var head: [UInt8] = []
    private var isAnswered = false

    init(connection: TCPConnection, server: StatusServer, startedAt: UInt64) {
        (self.connection, self.server, self.startedAt) = (connection, server, startedAt)
    }

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        guard !isAnswered else { return }
        head += unsafe bytes
        if let end = head.firstRange(of: [13, 10, 13, 10]) ?? head.firstRange(of: [10, 10]) {
            // Reading goes on (what follows is ignored), so the client's close ends the connection at once.
            isAnswered = true
            server?.received(String(decoding: head[..<end.lowerBound], as: UTF8.self), on: self)
        } else if head.count > StatusServer.maxRequestBytes {
            isAnswered = true
            connection.close()
        }
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        if !isAnswered { connection.close() }
    }

    func connection(_ connection: TCPConnection, didFail error: LoopError) {}
    func connection(_ connection: TCPConnection, didWrite byteCount: Int, token: Int, error: LoopError?) {}
    func connectionDidClose(_ connection: TCPConnection) { server?.closed(self) }
}
