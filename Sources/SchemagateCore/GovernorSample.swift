/// What the watching connection saw in one look at `pg_locks`: the sessions waiting behind the
/// migration's backend and, when the migration itself waits for a lock, who holds it.
public struct GovernorSample: Sendable, Equatable {
    /// Sessions whose `pg_blocking_pids()` names our backend.
    public var blocked: [BlockedSession]
    /// Nil while the migration holds its locks and runs; set while it queues for one.
    public var waitingFor: LockHolder?
    /// The table whose lock the migration queues for (nil when it waits for a transaction to end,
    /// as `CREATE INDEX CONCURRENTLY` does), for status lines.
    public var waitingOn: String?

    public init(blocked: [BlockedSession], waitingFor: LockHolder? = nil, waitingOn: String? = nil) {
        self.blocked = blocked
        self.waitingFor = waitingFor
        self.waitingOn = waitingOn
    }
}

/// One session waiting behind the migration, and for how long it has waited so far.
public struct BlockedSession: Sendable, Equatable {
    public var pid: Int32
    public var waited: Duration

    public init(pid: Int32, waited: Duration) {
        self.pid = pid
        self.waited = waited
    }
}
