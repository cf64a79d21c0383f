/// How long the governor takes to act on what it sees: the time until its next look (the sampling
/// gap, as measured) plus how long a cancel takes to free the sessions behind us (cancel request to
/// our statement's end, as measured). A wait that would pass `--max-block` within that time is cut
/// now, so that no session waits past `--max-block` for lack of a look. Each estimate follows a
/// slower measurement at once and a faster one by half the difference: a starved look makes the
/// governor cautious, a single quick one does not make it bold.
public struct GovernorReaction: Sendable, Equatable {
    public private(set) var sampleGap: Duration
    public private(set) var cancelLatency: Duration

    /// Before anything is measured: the nominal sampling interval, and a cancel of a few
    /// milliseconds (a local connection and a rollback).
    public static let assumedCancelLatency: Duration = .milliseconds(10)

    public init(sampleInterval: Duration, cancelLatency: Duration = assumedCancelLatency) {
        sampleGap = sampleInterval
        self.cancelLatency = cancelLatency
    }

    /// The time a wait seen now may still grow before the governor's next chance to free it.
    public var horizon: Duration { sampleGap + cancelLatency }

    /// Two looks at the same statement were `gap` apart (decision to decision).
    public mutating func sampled(gap: Duration) {
        sampleGap = Self.follow(sampleGap, gap)
    }

    /// A cancel took `took` from its request until our statement returned.
    public mutating func cancelled(took: Duration) {
        cancelLatency = Self.follow(cancelLatency, took)
    }

    private static func follow(_ estimate: Duration, _ measured: Duration) -> Duration {
        guard measured >= .zero else { return estimate }
        return measured >= estimate ? measured : estimate - (estimate - measured) / 2
    }
}
