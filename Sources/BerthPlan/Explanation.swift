/// The long explanation of one diagnostic code (`berth explain`), with a folder that triggers it and the same folder
/// fixed (for a firewall code, which no folder triggers: the command line and the host's ruleset). Each stage keeps
/// the catalogue of its own codes.
package struct Explanation: Sendable {
    package var code: Diagnostic.Code
    /// The usual severity.
    package var severity: Diagnostic.Severity
    /// One line.
    package var title: String
    /// Several paragraphs: what the rule is, why berth has it, how to fix.
    package var body: String
    /// A minimal folder: relative path → file content (handler files and/or manifest.json). For a firewall code,
    /// `command.txt` (what was run) and `host.nft` (the host's ruleset, as `nft list ruleset` shows it).
    package var failing: [String: String]
    /// The same folder with the problem fixed.
    package var fixed: [String: String]
    /// False where the example needs files that cannot be shown inline (TLS certificates) or is not a folder (firewall
    /// codes); tests compile every verifiable example.
    package var isVerifiable: Bool

    /// Every file content ends with a newline, so that the catalogue's literals need not spell it out.
    package init(
        _ code: Diagnostic.Code, _ severity: Diagnostic.Severity, title: String, body: String,
        failing: [String: String], fixed: [String: String], isVerifiable: Bool = true
    ) {
        func terminated(_ files: [String: String]) -> [String: String] {
            files.mapValues { $0.hasSuffix("\n") ? $0 : $0 + "\n" }
        }
        (self.code, self.severity, self.title, self.body) = (code, severity, title, body)
        (self.failing, self.fixed, self.isVerifiable) = (terminated(failing), terminated(fixed), isVerifiable)
    }
}

extension Explanation {
    /// `written` in the order of `codes`, one explanation per code: each stage's catalogue, checked when first used.
    package static func catalogue(_ written: [Explanation], codes: [Diagnostic.Code]) -> [Explanation] {
        precondition(written.count == codes.count, "the catalogue and its list of codes differ")
        return codes.map { code in
            guard let explanation = written.first(where: { $0.code == code }) else {
                preconditionFailure("no explanation for \(code.rawValue)")
            }
            return explanation
        }
    }

    /// The explanation of `code` ("manifest.cidr-host-bits"; case does not matter) in `catalogue`, or nil.
    package static func find(_ code: String, in catalogue: [Explanation]) -> Explanation? {
        let wanted = code.lowercased()
        return catalogue.first { $0.code.rawValue == wanted }
    }
}
