import BerthCompiler
import BerthPlan
import Foundation

/// `berth explain CODE` and `berth explain --list`.
enum ExplainCommand {
    static func explain(_ code: String) throws(CommandFailure) -> ExitCode {
        guard let explanation = Explanation.find(code) else {
            let suggestion = DidYouMean.closest(to: code, in: Explanation.allStages.map(\.code.rawValue))
            throw CommandFailure("no diagnostic code \"\(code)\"" + (suggestion.map { "; did you mean \($0)?" } ?? "")
                + " (berth explain --list shows them all)")
        }
        Output.out(ExplanationView.text(explanation, styling: Styling(.auto, fileDescriptor: STDOUT_FILENO)))
        return .success
    }

    static func list() -> ExitCode {
        Output.out(ExplanationView.list(Explanation.allStages))
        return .success
    }
}
