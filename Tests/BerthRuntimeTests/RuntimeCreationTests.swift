import Foundation
import Testing

import BerthJS
@testable import BerthRuntime

/// How long making a handler runtime takes and what heap it starts with (README "Development"). A measurement, not a
/// check: it runs only with BERTH_MEASURE_CREATION=1, best in a release build
/// (`BERTH_MEASURE_CREATION=1 swift test -c release -Xswiftc -enable-testing --filter RuntimeCreationTests`).
@Suite(.timeLimit(.minutes(2)), .enabled(if: ProcessInfo.processInfo.environment["BERTH_MEASURE_CREATION"] != nil))
struct RuntimeCreationTests {
    @Test func createAndUnloadRuntimes() throws {
        let fixture = try HandlerFixture(["t.tcp.7000.port.js": "export function handle(conn) { conn.end(); }"])
        let count = 200
        var heapBytes = 0
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for _ in 0..<count {
                let runtime = try fixture.runtime("t.tcp.7000.port.js")
                heapBytes += runtime.context?.runtime.heapBytes ?? 0
                runtime.unload()
            }
        }
        let microseconds = Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        print("runtime creation: \(Int(microseconds / Double(count))) µs and \(heapBytes / count) heap bytes per runtime")
        #expect(heapBytes > 0)
    }
}
