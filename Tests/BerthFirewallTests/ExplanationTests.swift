import BerthFirewall
import BerthPlan
import Testing

/// The firewall codes' explanations, which `berth explain` shows beside the compiler's.
@Suite struct ExplanationTests {
    @Test func oneExplanationPerCodeInCatalogueOrder() {
        #expect(Explanation.firewall.map(\.code) == Diagnostic.Code.firewall)
        #expect(Explanation.find("Firewall.Host-Chain-Drops", in: Explanation.firewall)?.code == .firewallHostChainDrops)
        // Only the coexistence check warns; every other firewall code stops the command.
        #expect(Explanation.firewall.filter { $0.severity == .warning }.map(\.code) == [.firewallHostChainDrops])
    }

    /// No folder triggers a firewall code, so each example is the command that was run, not a folder to compile.
    @Test(arguments: Explanation.firewall.map(\.code.rawValue))
    func firewallExamplesShowTheCommand(code: String) throws {
        let explanation = try #require(Explanation.find(code, in: Explanation.firewall))
        #expect(!explanation.isVerifiable)
        for example in [explanation.failing, explanation.fixed] {
            let commands = (example["command.txt"] ?? "").split(separator: "\n").filter { $0.hasPrefix("$ ") }
            #expect(commands.contains { $0.contains("berth ") }, "\(code): \(example.keys.sorted())")
        }
    }
}
