import BerthTestSupport
import Testing

import BerthJS
@testable import BerthRuntime

/// A directory of the folder swapped for a symlink to an outside directory while handlers load: no outside code
/// ever runs (before every file was opened beneath the folder, 8 of 60 starts ran it).
@Suite(.timeLimit(.minutes(2)))
struct ModuleLoaderRaceTests {
    @Test func loadingNeverRunsCodeThroughASwappedDirectory() throws {
        let fixture = try HandlerFixture([
            "t.tcp.7000.port.js": "import './lib/x.js';\nexport function handle(conn) {}\n",
            "lib/x.js": "console.log('inside');\n",
        ])
        let outside = try TemporaryFolder("berth-outside")
        try outside.write("lib/x.js", "console.log('OUTSIDE');\n")
        try fixture.folder.symlink("swap", to: outside.path + "/lib")
        let swapper = try PathSwapper(fixture.folder.path + "/lib", fixture.folder.path + "/swap")
        defer { swapper.stop() }
        var loaded = 0
        for _ in 0..<200 {
            guard let runtime = try? fixture.runtime("t.tcp.7000.port.js") else { continue }
            runtime.unload()
            loaded += 1
            if fixture.host.output.contains(where: { $0.contains("OUTSIDE") }) { break }
        }
        #expect(!fixture.host.output.contains { $0.contains("OUTSIDE") })
        #expect(swapper.stop() > 0 && loaded > 0 && fixture.host.output.contains { $0.contains("inside") })
    }
}
