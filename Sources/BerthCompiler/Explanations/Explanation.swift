package import BerthPlan

/// A long explanation of one diagnostic code, with a folder that triggers it and the same folder fixed (for a firewall
/// code, which no folder triggers: the command line and the host's ruleset).
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
    init(
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
    /// One per `Diagnostic.Code.all` entry (the compile catalogue), in the same order.
    package static let all = ordered(grammar + manifest + module + tls, as: Diagnostic.Code.all)

    /// One per `Diagnostic.Code.firewall` entry (plan, apply and destroy against nftables), in the same order.
    package static let firewall = ordered(firewallStage, as: Diagnostic.Code.firewall)

    /// What `berth explain --list` shows: the compile codes, then the firewall codes.
    package static var allStages: [Explanation] { all + firewall }

    /// The explanation of `code` ("manifest.cidr-host-bits"; case does not matter), or nil for an unknown code.
    package static func find(_ code: String) -> Explanation? {
        let wanted = code.lowercased()
        return allStages.first { $0.code.rawValue == wanted }
    }

    /// `written` in the order of `codes`, one explanation per code.
    private static func ordered(_ written: [Explanation], as codes: [Diagnostic.Code]) -> [Explanation] {
        precondition(written.count == codes.count, "the catalogue and its list of codes differ")
        return codes.map { code in
            guard let explanation = written.first(where: { $0.code == code }) else {
                preconditionFailure("no explanation for \(code.rawValue)")
            }
            return explanation
        }
    }
}

/// Files that many example folders share.
enum ExampleFile {
    static let manifest = #"{"version": 1}"#
    static let tcpEcho = """
        export function handle(conn, ctx) {
          conn.on("data", (chunk) => conn.write(chunk));
        }
        """
    static let udpEcho = """
        export function message(msg, rinfo, ctx) {
          ctx.reply(msg, rinfo);
        }
        """

    /// A manifest whose only selector is `selector`, with `policy` written as the body of its object.
    static func manifest(selector: String, _ policy: String) -> String {
        """
        {
          "version": 1,
          "handlers": {
            "\(selector)": { \(policy) }
          }
        }
        """
    }
}
