import BerthCompiler
import BerthFirewall
import BerthPlan
import Foundation

/// `berth explain CODE` and `berth explain --list`.
enum ExplainCommand {
    /// Every stage's explanations, in the order `--list` shows them: the compile codes, then the firewall codes.
    static let catalogue = Explanation.all + Explanation.firewall

    static func explain(_ code: String) throws(CommandFailure) -> ExitCode {
        guard let explanation = Explanation.find(code, in: catalogue) else {
            let suggestion = DidYouMean.closest(to: code, in: catalogue.map(\.code.rawValue))
            throw CommandFailure("no diagnostic code \"\(code)\"" + (suggestion.map { "; did you mean \($0)?" } ?? "")
                + " (berth explain --list shows them all)")
        }
        Output.out(ExplanationView.text(explanation, styling: Styling(.auto, fileDescriptor: STDOUT_FILENO)))
        return .success
    }

    static func list() -> ExitCode {
        Output.out(ExplanationView.list(catalogue))
        return .success
    }
}
