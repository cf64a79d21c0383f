/// Durations as operators write them on command lines and in env files: `500ms`, `30s`, `5m`,
/// `1h`, or a bare number of seconds.
public enum DurationParser {
    /// The longest duration any option takes: longer is refused rather than overflowing.
    public static let longest: Duration = .seconds(366 * 86_400)

    /// Nil for anything that is not a duration from 0 to `longest`.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCIIDigit || $0 == "." }
        guard !digits.isEmpty, let value = Double(digits), value >= 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count)
        let seconds: Double
        switch unit {
        case "ms": seconds = value / 1000
        case "", "s": seconds = value
        case "m", "min": seconds = value * 60
        case "h": seconds = value * 3600
        default: return nil
        }
        guard seconds <= Double(longest.components.seconds) else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// `1.5s`, `250ms`, `2m` — the inverse, for messages and STATUS= lines.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        if milliseconds < 60_000 {
            let tenths = (milliseconds + 50) / 100
            return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
        }
        let seconds = milliseconds / 1000
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        return seconds % 60 == 0 ? "\(seconds / 60)m" : "\(seconds / 60)m\(seconds % 60)s"
    }
}
