import BerthPlan
import Testing

@Suite struct LimitsTextTests {
    @Test func ratesAndDurations() {
        #expect(Rate.parse("50/s") == Rate(count: 50, seconds: 1))
        #expect(Rate.parse("600/min") == Rate(count: 600, seconds: 60))
        #expect(Rate.parse("10/h")?.description == "10/h")
        #expect(Rate.parse("50 per second") == nil && Rate.parse("50/d") == nil && Rate.parse("-1/s") == nil)
        #expect(DurationText.parseMilliseconds("5m") == 300_000)
        #expect(DurationText.parseMilliseconds("250ms") == 250)
        #expect(DurationText.parseMilliseconds("5") == nil && DurationText.parseMilliseconds("5 minutes") == nil)
        #expect(DurationText.format(milliseconds: 300_000) == "5m")
        #expect(DurationText.format(milliseconds: 1500) == "1500ms")
    }
}
