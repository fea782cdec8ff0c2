import BerthPlan

/// `berth explain`: the long form of a code, then a folder that triggers it and the same folder fixed.
enum ExplanationView {
    static func text(_ explanation: Explanation, styling: Styling) -> String {
        var out = styling.bold("\(explanation.code.rawValue) (\(explanation.severity.rawValue)): \(explanation.title)") + "\n\n"
        out += explanation.body.trimmingTrailingNewlines + "\n\n"
        out += styling.bold("Example that triggers it:") + "\n" + folder(explanation.failing, styling: styling)
        out += "\n" + styling.bold("Fixed:") + "\n" + folder(explanation.fixed, styling: styling)
        return out
    }

    static func list(_ explanations: [Explanation]) -> String {
        let width = explanations.map(\.code.rawValue.count).max() ?? 0
        return explanations.map { explanation in
            let code = explanation.code.rawValue
            return code + String(repeating: " ", count: width - code.count + 2)
                + explanation.severity.rawValue.padding(7) + "  " + explanation.title
        }.joined(separator: "\n") + "\n"
    }

    private static func folder(_ files: [String: String], styling: Styling) -> String {
        files.keys.sorted().map { path in
            "  " + styling.dim("── \(path)") + "\n"
                + files[path]!.trimmingTrailingNewlines.split(separator: "\n", omittingEmptySubsequences: false)
                    .map { "    " + $0 }.joined(separator: "\n") + "\n"
        }.joined()
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
