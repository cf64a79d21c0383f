/// The lock-impact governor's decisions for one migration, apart from the I/O: it is fed what the
/// watching connection sees and answers whether to let the statement run or cancel it (our own
/// statement, never anyone else's), and whether a cancelled migration is retried or fails.
public struct Governor: Sendable {
    public enum Action: Sendable, Equatable {
        case keepWatching
        /// Cancel our statement, roll back, wait `after`, run the migration again.
        case cancelAndRetry(GovernorCause, after: Duration)
        /// Cancel our statement and fail the migration with this cause.
        case cancelAndFail(GovernorCause)
    }

    public let settings: GovernorSettings
    /// A file marked `-- schemagate: allow-blocking`: watched and counted, never cancelled.
    public let allowBlocking: Bool
    public let backoff: BackoffSchedule
    public private(set) var retriesUsed = 0
    private var waitedPids: Set<Int32> = []
    public private(set) var longestWait: Duration = .zero
    /// The last look saw sessions waiting behind us.
    public private(set) var blockingNow = false

    public init(settings: GovernorSettings, allowBlocking: Bool = false, backoff: BackoffSchedule = BackoffSchedule()) {
        self.settings = settings
        self.allowBlocking = allowBlocking
        self.backoff = backoff
    }

    /// Sessions that waited behind us in the current attempt.
    public var waitedSessions: Int { waitedPids.count }

    /// A new attempt begins: the waits of the last one are history.
    public mutating func attemptStarted() {
        waitedPids = []
        longestWait = .zero
        blockingNow = false
    }

    /// When to look next: sooner while a governed statement makes someone wait (the governor's
    /// delay is then part of their wait), at the `normal` pace otherwise, so an idle or waiting
    /// daemon queries no more than before.
    public func nextLook(normal: Duration, whileBlocking: Duration) -> Duration {
        blockingNow && !allowBlocking ? whileBlocking : normal
    }

    /// One look at the locks; `jitter` in 0..<1 feeds the backoff if this look cancels.
    /// The governor predicts rather than notices: it cancels when the longest wait plus `horizon`
    /// (the time until it could act again, `GovernorReaction.horizon`) would pass `--max-block`,
    /// so a session that just missed one look does not wait past `--max-block` for the next one.
    public mutating func observe(_ sample: GovernorSample, jitter: Double, horizon: Duration = .zero) -> Action {
        for session in sample.blocked {
            waitedPids.insert(session.pid)
            longestWait = Swift.max(longestWait, session.waited)
        }
        blockingNow = !sample.blocked.isEmpty
        guard !allowBlocking, sample.blocked.contains(where: { $0.waited + horizon > settings.maxBlock }) else {
            return .keepWatching
        }
        let kind: GovernorCause.Kind = sample.waitingFor.map { .waitingBehind($0) } ?? .migrationBlocksTraffic
        return cancel(GovernorCause(kind: kind, waitedSessions: waitedSessions, longestWait: longestWait), jitter: jitter)
    }

    /// How long a statement runs before the watch first looks at it. Nobody can have waited
    /// behind a statement for longer than it has run, so a look before `--max-block` has passed
    /// cannot cancel it: the first sample interval (or half of `--max-block`, when shorter) is
    /// skipped, which spares the server a look at each of the many short statements of a run.
    /// Only where the server records when a wait began (`waitstart`, PostgreSQL 14+); before
    /// that a wait counts from its first sighting, which must come no later than it does now.
    public func firstLook(sampleInterval: Duration, serverRecordsWaitStart: Bool) -> Duration {
        guard serverRecordsWaitStart else { return .zero }
        return Swift.min(sampleInterval, settings.maxBlock / 2)
    }

    /// The watching connection died. The statement is cancelled, and retried once the watch is
    /// back; that retry does not use up `--max-block-retries`, which counts harm done to traffic.
    /// An allow-blocking file is not governed, so it runs on without its watch.
    public mutating func watchLost(jitter: Double) -> Action {
        guard !allowBlocking else { return .keepWatching }
        let cause = GovernorCause(kind: .watchLost, waitedSessions: waitedSessions, longestWait: longestWait)
        return .cancelAndRetry(cause, after: backoff.delay(beforeRetry: 1, jitter: jitter))
    }

    private mutating func cancel(_ cause: GovernorCause, jitter: Double) -> Action {
        guard retriesUsed < settings.maxBlockRetries else { return .cancelAndFail(cause) }
        retriesUsed += 1
        return .cancelAndRetry(cause, after: backoff.delay(beforeRetry: retriesUsed, jitter: jitter))
    }
}
