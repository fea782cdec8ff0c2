@testable import BerthJS
import Testing

/// The source scans run over every file of every entry, so they must stay linear in its size.
@Suite struct StaticCallsTests {
    @Test func findsDynamicImportsAndCallsInOrder() {
        let source = Array("const a = require(\"a\");\nawait import('./x.js');\nfetch(`u`);".utf8)
        #expect(StaticCalls.findings(in: source).map(\.kind) == [
            .undefinedGlobal(name: "require"), .dynamicImport(specifier: "./x.js"), .undefinedGlobal(name: "fetch"),
        ])
    }

    /// 50,000 top-level declarations, each with a call: a scan that went back over the file per declaration or per
    /// call (as bracket matching could) would take minutes; linear scans take about a second in a debug build.
    @Test func scansOfALargeModuleAreLinear() {
        let source = Array((0..<50_000).map { "export const f\($0) = () => require(\"m\($0)\");\n" }.joined().utf8)
        let start = ContinuousClock.now
        let findings = StaticCalls.findings(in: source)
        let kinds = StaticExports.kinds(in: source)
        let elapsed = ContinuousClock.now - start
        #expect(findings.count == 50_000)
        #expect(kinds.count == 50_000 && kinds["f49999"] == .function)
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }
}
