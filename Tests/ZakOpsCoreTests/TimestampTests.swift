import Foundation
import Testing
import ZakOpsCore

@Suite("Timestamps")
struct TimestampTests {
    @Test("a UTC time reads back exactly; text that names no time is refused instead of normalized")
    func strictParsing() {
        let text = "2026-02-28T23:59:59.123Z"
        #expect(Timestamp.date(from: text).map(Timestamp.string(from:)) == text)
        for invalid in ["0000-00-00T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-02-30T00:00:00.000Z", "2026-01-01T24:00:00.000Z",
                        "2026-01-01T00:60:00.000Z", "1969-12-31T23:59:59.999Z", "2026-01-01 00:00:00.000Z", "2026-1-01T00:00:00.000Z"] {
            #expect(Timestamp.date(from: invalid) == nil, "\(invalid)")
        }
    }
}
