import BerthPlan
@testable import berth
import BerthTestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct ExplainCommandTests {
    /// Each stage keeps its own explanations; `berth explain` looks in the compiler's, then the firewall's.
    @Test func catalogueIsTheCompilersThenTheFirewalls() {
        #expect(ExplainCommand.catalogue.map(\.code) == Diagnostic.Code.all + Diagnostic.Code.firewall)
        #expect(Explanation.find("Firewall.Host-Chain-Drops", in: ExplainCommand.catalogue)?.code == .firewallHostChainDrops)
    }

    @Test func listShowsEveryCode() throws {
        let result = try BerthBinary.run(["explain", "--list"])
        #expect(result.status == 0)
        let codes = result.standardOutput.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }
        #expect(codes == (Diagnostic.Code.all + Diagnostic.Code.firewall).map(\.rawValue))
    }

    @Test func explainPrintsTheLongFormWithExamples() throws {
        let result = try BerthBinary.run(["explain", "manifest.cidr-host-bits"])
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("manifest.cidr-host-bits (error): "))
        #expect(result.standardOutput.contains("Example that triggers it:"))
        #expect(result.standardOutput.contains("Fixed:"))
        #expect(result.standardOutput.contains("── manifest.json"))
    }

    @Test func explainsFirewallCodesWithTheHostRuleset() throws {
        let result = try BerthBinary.run(["explain", "firewall.host-chain-drops"])
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("firewall.host-chain-drops (warning): "))
        #expect(result.standardOutput.contains("── host.nft"))
        #expect(result.standardOutput.contains(#"--host-chain "inet filter input""#))
    }

    @Test func unknownCodeSuggestsOne() throws {
        let result = try BerthBinary.run(["explain", "manifest.cidr-hostbits"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("did you mean manifest.cidr-host-bits?"))
    }
}
