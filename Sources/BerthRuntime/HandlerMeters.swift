/// What the runtimes of one endpoint count for the broker's metrics: faults by kind, and (when the broker serves
/// metrics) how long dispatches take. One per endpoint, shared by its generations, so a reload does not reset it.
package final class HandlerMeters {
    /// How a handler failed: what the fault log line says, as a metric label.
    package enum FaultKind: String, CaseIterable, Sendable {
        /// An exception thrown by a callback or a job and not caught.
        case exception
        /// A promise rejected with no handler, or `open`/`close` rejecting.
        case rejection
        /// A dispatch interrupted after `--cpu-budget`.
        case cpuBudget = "cpu-budget"
        /// The heap limit reached: the runtime stops.
        case outOfMemory = "out-of-memory"
    }

    /// Faults by `FaultKind.allCases` index.
    package private(set) var faults = [Int](repeating: 0, count: FaultKind.allCases.count)
    /// Dispatch durations, or nil when nobody reads them: timing costs a clock read per dispatch.
    package let dispatchTimes: DurationHistogram?

    package init(timesDispatches: Bool) {
        dispatchTimes = timesDispatches ? DurationHistogram() : nil
    }

    package func count(_ kind: FaultKind) {
        faults[FaultKind.allCases.firstIndex(of: kind)!] += 1
    }

    package func faults(of kind: FaultKind) -> Int { faults[FaultKind.allCases.firstIndex(of: kind)!] }
}

/// A histogram of durations with fixed buckets (seconds, as Prometheus's), counted in nanoseconds.
package final class DurationHistogram {
    /// The buckets' upper bounds in seconds, from 10 µs to the default CPU budget and past it.
    package static let bounds: [Double] = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    private static let boundNanoseconds = bounds.map { UInt64($0 * 1e9) }

    /// Per bucket, the durations that fell in it and not in a lower one (`+Inf` last); cumulated when exposed.
    package private(set) var counts = [Int](repeating: 0, count: bounds.count + 1)
    package private(set) var sumNanoseconds: UInt64 = 0
    package var count: Int { counts.reduce(0, +) }

    package init() {}

    package func record(nanoseconds: UInt64) {
        var index = 0
        while index < Self.boundNanoseconds.count, nanoseconds > Self.boundNanoseconds[index] { index += 1 }
        counts[index] += 1
        sumNanoseconds &+= nanoseconds
    }
}
