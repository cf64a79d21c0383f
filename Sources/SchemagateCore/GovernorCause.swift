/// Why the governor cancelled the migration's statement, with what the waiting sessions suffered,
/// so the failure line says whom to look at and how bad it was.
public struct GovernorCause: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The migration queued for a lock held by this session, and traffic queued behind it.
        case waitingBehind(LockHolder)
        /// The migration held its lock (a rewrite, a long scan) and traffic queued behind it.
        case migrationBlocksTraffic
        /// The watching connection died: the statement may not run unwatched.
        case watchLost
    }

    public var kind: Kind
    /// Distinct sessions that waited behind the migration during this attempt.
    public var waitedSessions: Int
    /// The longest wait among them.
    public var longestWait: Duration

    public init(kind: Kind, waitedSessions: Int, longestWait: Duration) {
        self.kind = kind
        self.waitedSessions = waitedSessions
        self.longestWait = longestWait
    }

    /// One line for the failure record and the journal.
    public var description: String {
        let waited = "\(waitedSessions) session\(waitedSessions == 1 ? "" : "s") waited behind it, the longest \(DurationParser.format(longestWait))"
        switch kind {
        case .waitingBehind(let holder):
            return "waiting for a lock held by \(holder.summary) running '\(holder.shortQuery)'; \(waited)"
        case .migrationBlocksTraffic:
            return "the migration itself blocks traffic while it holds its lock; \(waited); mark the file -- schemagate: allow-blocking to run it in a maintenance window"
        case .watchLost:
            return "the governor's watching connection was lost; the statement was cancelled rather than left unwatched"
        }
    }
}
