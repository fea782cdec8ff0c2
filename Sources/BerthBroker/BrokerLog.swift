import BerthPlan
import Foundation

/// The broker's log: one line per event on stderr, naming the handler, as text or JSON Lines (`--log-format json`).
package final class BrokerLog: @unchecked Sendable {
    package enum Format: String, Sendable { case text, json }
    package enum Level: String, Sendable, Comparable, CaseIterable {
        case debug, info, warn, error

        package static func < (lhs: Level, rhs: Level) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    private let format: Format
    /// `--log-level`: lines below it are dropped.
    private let minimumLevel: Level
    private let write: @Sendable (String) -> Void
    // Guards `write` so lines from the loop thread and the signal path never interleave.
    private let lock = NSLock()

    package init(format: Format, minimumLevel: Level = .info,
                 write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        (self.format, self.minimumLevel) = (format, minimumLevel)
        self.write = write
    }

    /// Logs `message` at `level`; `handler` is the handler's name (nil for the broker itself); `fields` add context
    /// (a JSON member each, or `key=value` in text).
    package func log(_ level: Level, _ message: String, handler: String? = nil, fields: [(String, String)] = []) {
        guard level >= minimumLevel else { return }
        let time = Self.timestamp()
        let line: String
        switch format {
        case .text:
            var text = "\(time) \(level.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \(handler ?? "berth"): \(message)"
            for (key, value) in fields { text += " \(key)=\(value.contains(" ") ? "\"\(value)\"" : value)" }
            line = text + "\n"
        case .json:
            var members = ["\"time\":\(Self.quote(time))", "\"level\":\(Self.quote(level.rawValue))",
                           "\"handler\":\(handler.map(Self.quote) ?? "null")", "\"message\":\(Self.quote(message))"]
            for (key, value) in fields { members.append("\(Self.quote(key)):\(Self.quote(value))") }
            line = "{" + members.joined(separator: ",") + "}\n"
        }
        lock.withLock { write(line) }
    }

    private static func timestamp() -> String { unsafe formatter.string(from: Date()) }

    // ISO8601DateFormatter is documented as thread-safe.
    nonisolated(unsafe) private static let formatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    private static func quote(_ text: String) -> String { JSONWriter.compact(.string(text)) }
}
