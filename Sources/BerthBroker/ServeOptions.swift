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
