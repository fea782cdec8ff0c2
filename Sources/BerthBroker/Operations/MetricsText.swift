import Foundation

/// Prometheus's text exposition format (version 0.0.4): a HELP and a TYPE line per family, then its samples.
struct MetricsText {
    enum Kind: String { case counter, gauge, histogram }

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private(set) var text = ""

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ value: Int) { sample(name, [], text: String(value)) }
    mutating func sample(_ name: String, _ value: Double) { sample(name, [], value) }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int) {
        sample(name, labels, text: String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        sample(name, labels, text: value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value))
    }

    /// One histogram's buckets (cumulative), sum and count; `counts` holds each bucket's own count, `+Inf` last.
    mutating func histogram(_ name: String, _ labels: [(String, String)], bounds: [Double], counts: [Int],
                            sum: Double) {
        var cumulative = 0
        for (index, count) in counts.enumerated() {
            cumulative += count
            let bound = index < bounds.count ? String(bounds[index]) : "+Inf"
            sample(name + "_bucket", labels + [("le", bound)], text: String(cumulative))
        }
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, cumulative)
    }

    private mutating func sample(_ name: String, _ labels: [(String, String)], text value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escaped($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    /// A label value's escapes: backslash, double quote and line feed.
    static func escaped(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        return value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
