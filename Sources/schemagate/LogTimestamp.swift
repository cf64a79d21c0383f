import Glibc

/// The time of a log line, in UTC with milliseconds (`2026-12-04T03:22:05.300Z`), formatted from
/// `clock_gettime` and `gmtime_r`: FoundationEssentials' ISO 8601 style builds a calendar and
/// reads the time-zone database on first use, about 1.7 million instructions (a tenth of
/// `migrate` with nothing pending) for a string that never depends on the zone.
enum LogTimestamp {
    static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return format(seconds: time.tv_sec, milliseconds: Int(time.tv_nsec / 1_000_000))
    }

    static func format(seconds: Int, milliseconds: Int) -> String {
        var seconds = seconds
        var fields = tm()
        gmtime_r(&seconds, &fields)
        var text = ""
        text.reserveCapacity(24)
        append(Int(fields.tm_year) + 1900, digits: 4, to: &text)
        text += "-"
        append(Int(fields.tm_mon) + 1, digits: 2, to: &text)
        text += "-"
        append(Int(fields.tm_mday), digits: 2, to: &text)
        text += "T"
        append(Int(fields.tm_hour), digits: 2, to: &text)
        text += ":"
        append(Int(fields.tm_min), digits: 2, to: &text)
        text += ":"
        append(Int(fields.tm_sec), digits: 2, to: &text)
        text += "."
        append(milliseconds, digits: 3, to: &text)
        text += "Z"
        return text
    }

    private static func append(_ value: Int, digits: Int, to text: inout String) {
        let decimal = String(value)
        text += String(repeating: "0", count: max(0, digits - decimal.count)) + decimal
    }
}
