import BerthCompiler
import BerthPlan
import BerthTestSupport
import Testing

/// `berth explain` shows a failing and a fixed folder per code; both are compiled here, so the docs cannot drift.
@Suite struct ExplanationTests {
    @Test func oneExplanationPerCodeInCatalogueOrder() {
        #expect(Explanation.all.map(\.code) == Diagnostic.Code.all)
        #expect(Explanation.firewall.map(\.code) == Diagnostic.Code.firewall)
        #expect(Explanation.allStages.map(\.code) == Diagnostic.Code.all + Diagnostic.Code.firewall)
        #expect(Explanation.find("manifest.cidr-host-bits")?.code == .manifestCIDRHostBits)
        #expect(Explanation.find("Firewall.Host-Chain-Drops")?.code == .firewallHostChainDrops)
        #expect(Explanation.find("nope") == nil)
        // Only the coexistence check warns; every other firewall code stops the command.
        #expect(Explanation.firewall.filter { $0.severity == .warning }.map(\.code) == [.firewallHostChainDrops])
    }

    /// No folder triggers a firewall code, so each example is the command that was run, not a folder to compile.
    @Test(arguments: Explanation.firewall.map(\.code.rawValue))
    func firewallExamplesShowTheCommand(code: String) throws {
        let explanation = try #require(Explanation.find(code))
        #expect(!explanation.isVerifiable)
        for example in [explanation.failing, explanation.fixed] {
            let commands = (example["command.txt"] ?? "").split(separator: "\n").filter { $0.hasPrefix("$ ") }
            #expect(commands.contains { $0.contains("berth ") }, "\(code): \(example.keys.sorted())")
        }
    }

    @Test(arguments: Explanation.all.filter(\.isVerifiable).map(\.code.rawValue))
    func examplesDoWhatTheySay(code: String) throws {
        let explanation = try #require(Explanation.find(code))
        let failing = try TemporaryFolder()
        try failing.write(explanation.failing)
        let failingPlan = try Compiler.compile(folder: failing.path)
        #expect(failingPlan.diagnostics.contains { $0.code == explanation.code },
                "the failing example of \(code) gives: \(Golden.render(failingPlan.diagnostics))")
        let fixed = try TemporaryFolder()
        try fixed.write(explanation.fixed)
        let fixedPlan = try Compiler.compile(folder: fixed.path)
        #expect(!fixedPlan.diagnostics.contains { $0.code == explanation.code },
                "the fixed example of \(code) still gives it: \(Golden.render(fixedPlan.diagnostics))")
        #expect(!fixedPlan.diagnostics.hasErrors, "the fixed example of \(code): \(Golden.render(fixedPlan.diagnostics))")
    }

    @Test func severitiesMatchWhatTheCompilerEmits() throws {
        for explanation in Explanation.all where explanation.isVerifiable {
            let folder = try TemporaryFolder()
            try folder.write(explanation.failing)
            let plan = try Compiler.compile(folder: folder.path)
            for diagnostic in plan.diagnostics where diagnostic.code == explanation.code {
                #expect(diagnostic.severity == explanation.severity, "\(explanation.code.rawValue)")
            }
        }
    }
}
