/// Conversions for numbers that come from outside: a client's query string, a flag, a row in the
/// database. Swift traps when a `Double` does not fit the integer it is converted to, and a trap
/// stops the daemon, so every such number passes through here: clamped where any value has a
/// sensible reading (an age, a wait), refused where it has none (see `DurationParser`).
extension Double {
    /// The value rounded toward zero and clamped into `Int64` (NaN reads as 0).
    public var clampedInt64: Int64 {
        guard !isNaN else { return 0 }
        if self >= 9.2e18 { return .max }
        if self <= -9.2e18 { return .min }
        return Int64(self)
    }

    /// Whole seconds of an age or a remaining time, for messages: never negative, never a trap.
    public var wholeSeconds: Int64 { Swift.max(0, self).clampedInt64 }
}

extension Duration {
    /// `seconds` as a duration, clamped into `0...ceiling` (NaN reads as 0).
    public static func seconds(clamping seconds: Double, ceiling: Duration) -> Duration {
        let ceilingSeconds = Double(ceiling.components.seconds) + Double(ceiling.components.attoseconds) / 1e18
        guard !seconds.isNaN, seconds > 0 else { return .zero }
        guard seconds < ceilingSeconds else { return ceiling }
        return .milliseconds((seconds * 1000).rounded().clampedInt64)
    }
}
