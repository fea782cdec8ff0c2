import BerthPlan

/// How `berth serve` runs: where it binds and the per-handler budgets.
package struct ServeOptions: Sendable, Equatable {
    /// An address literal to bind every port to, or nil for all addresses (dual stack).
    package var bindAddress: String?
    /// How long one dispatch into a handler may run before it is interrupted.
    package var cpuBudgetMilliseconds: Int
    /// Each handler's QuickJS heap limit.
    package var heapLimitBytes: Int
    /// How long open connections may finish after SIGTERM/SIGINT before they are destroyed.
    package var graceMilliseconds: Int
    /// The bound on `ctx.shared`'s encoded keys and values.
    package var storeMaxBytes: Int
    /// `--strict`: an endpoint that cannot start (its port cannot be bound, its module does not load, `open` fails)
    /// stops the broker with a failure instead of leaving the others serving.
    package var isStrict: Bool
    /// How long `open(ctx)` may take before that version fails (at start, and for each reload's new versions).
    package var openTimeoutMilliseconds: Int
    /// Whether the broker watches its folder and reloads on changes (`--no-watch` turns it off; SIGHUP still reloads).
    package var isWatching: Bool
    /// How long the folder must stay quiet after a change before the reload (a sync touching 500 files is one reload).
    package var reloadDebounceMilliseconds: Int

    /// `--metrics`: where `/metrics`, `/healthz` and `/readyz` are served; nil for nowhere.
    package var metrics: MetricsAddress?
    /// `--access-log`: one line per closed connection.
    package var isAccessLogged = false

    package init(bindAddress: String? = nil, cpuBudgetMilliseconds: Int = 1000, heapLimitBytes: Int = 64 << 20,
                 graceMilliseconds: Int = 10_000, storeMaxBytes: Int = 256 << 20, isStrict: Bool = false,
                 openTimeoutMilliseconds: Int = 10_000, isWatching: Bool = true, reloadDebounceMilliseconds: Int = 300) {
        self.isStrict = isStrict
        self.openTimeoutMilliseconds = openTimeoutMilliseconds
        self.isWatching = isWatching
        self.reloadDebounceMilliseconds = reloadDebounceMilliseconds
        self.bindAddress = bindAddress
        self.cpuBudgetMilliseconds = cpuBudgetMilliseconds
        self.heapLimitBytes = heapLimitBytes
        self.graceMilliseconds = graceMilliseconds
        self.storeMaxBytes = storeMaxBytes
    }
}

/// The address `--metrics` names: an IP literal and a port.
package struct MetricsAddress: Sendable, Equatable {
    package var host: String
    package var port: Int

    package init(host: String, port: Int) { (self.host, self.port) = (host, port) }

    /// `127.0.0.1:9464`, `[::1]:9464`, `:9464` or `9464` (both loopback); nil when it is none of these.
    package init?(_ text: String) {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = text[text.index(after: colon)...]
        }
        guard IPAddress(host) != nil, let port = Int(portText), (0...65535).contains(port) else { return nil }
        (self.host, self.port) = (host, port)
    }

    /// As a URL's authority: `127.0.0.1:9464`, `[::1]:9464`.
    package var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
