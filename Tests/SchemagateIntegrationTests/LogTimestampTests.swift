import Foundation
@testable import schemagate
import Testing

/// The text log's timestamps, formatted by hand from `gmtime_r`, agree with Foundation's ISO 8601.
@Suite("log timestamps")
struct LogTimestampTests {
    @Test(arguments: [
        (0, 0, "1970-01-01T00:00:00.000Z"),
        (951_782_400, 7, "2000-02-29T00:00:00.007Z"),
        (1_796_355_126, 300, "2026-12-04T03:32:06.300Z"),
        (4_102_444_799, 999, "2099-12-31T23:59:59.999Z"),
    ])
    func formatsUTCWithMilliseconds(seconds: Int, milliseconds: Int, expected: String) {
        #expect(LogTimestamp.format(seconds: seconds, milliseconds: milliseconds) == expected)
    }

    @Test func nowIsFoundationsNow() throws {
        let text = LogTimestamp.now()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try #require(formatter.date(from: text), "\(text)")
        #expect(abs(parsed.timeIntervalSinceNow) < 5)
        #expect(text.count == 24 && text.hasSuffix("Z"))
    }
}
