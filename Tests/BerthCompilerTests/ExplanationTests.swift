import BerthCompiler
import BerthPlan
import BerthTestSupport
import Testing

/// `berth explain` shows a failing and a fixed folder per code; both are compiled here, so the docs cannot drift.
@Suite struct ExplanationTests {
    @Test func oneExplanationPerCodeInCatalogueOrder() {
        #expect(Explanation.all.map(\.code) == Diagnostic.Code.all)
        #expect(Explanation.find("manifest.cidr-host-bits", in: Explanation.all)?.code == .manifestCIDRHostBits)
        #expect(Explanation.find("nope", in: Explanation.all) == nil)
    }

    @Test(arguments: Explanation.all.filter(\.isVerifiable).map(\.code.rawValue))
    func examplesDoWhatTheySay(code: String) throws {
        let explanation = try #require(Explanation.find(code, in: Explanation.all))
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
