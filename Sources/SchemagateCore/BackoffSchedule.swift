/// Delays between governor retries: doubling from `base` up to `ceiling`, with "equal jitter"
/// (half fixed, half random) so a fleet of sidecars does not retry in step. The random part comes
/// in as a number in 0..<1, which keeps the schedule a plain function that tests can drive.
public struct BackoffSchedule: Sendable, Equatable {
    public var base: Duration
    /// Low enough that a migration starts well within a second of its blocker ending.
    public var ceiling: Duration

    public init(base: Duration = .milliseconds(100), ceiling: Duration = .milliseconds(800)) {
        self.base = base
        self.ceiling = ceiling
    }

    /// The delay before retry number `retry` (1 for the first), for `jitter` in 0..<1.
    public func delay(beforeRetry retry: Int, jitter: Double) -> Duration {
        let doublings = Swift.min(Swift.max(retry - 1, 0), 30)
        let full = Swift.min(base * (1 << doublings), ceiling)
        let unit = jitter.isNaN ? 0 : Swift.min(Swift.max(jitter, 0), 1)
        return full / 2 + (full / 2) * unit
    }
}
