/// The lock row's value: who holds the migration lock, since when, until when, and which
/// database session, so that a waiter can see the holder's death without waiting out the lease.
public struct LockRecord: Sendable, Equatable, Codable {
    /// The holder's instance id (unique per run).
    public var owner: String
    public var host: String
    public var pid: Int32
    /// Seconds since the epoch, by the database's clock (so hosts' clocks need not agree).
    public var takenAt: Double
    public var expiresAt: Double
    /// The holder's backend, when its session is visible to others (no pooler between).
    public var backendPID: Int32?
    /// That backend's start (seconds since the epoch), so that a recycled pid is never mistaken for it.
    public var backendStart: Double?
    public var sessionVisible: Bool

    public init(owner: String, host: String, pid: Int32, takenAt: Double, expiresAt: Double, backendPID: Int32?,
                backendStart: Double? = nil, sessionVisible: Bool) {
        self.backendStart = backendStart
        self.owner = owner
        self.host = host
        self.pid = pid
        self.takenAt = takenAt
        self.expiresAt = expiresAt
        self.backendPID = backendPID
        self.sessionVisible = sessionVisible
    }

    enum CodingKeys: String, CodingKey {
        case owner, host, pid
        case takenAt = "taken_at"
        case expiresAt = "expires_at"
        case backendPID = "backend_pid"
        case backendStart = "backend_start"
        case sessionVisible = "session_visible"
    }

    /// "host-b pid 812", as STATUS= lines and logs name a holder.
    public var holderDescription: String { "\(host) pid \(pid)" }
}

/// One read of the coordination rows, taken in a single statement.
public struct LockSnapshot: Sendable, Equatable {
    public var version: Int64
    public var lock: LockRecord?
    /// Whether the holder's database session still exists; nil when it cannot be seen.
    public var holderSessionAlive: Bool?
    public var lastFailure: FailureRecord?
    /// The database's clock, seconds since the epoch.
    public var now: Double

    public init(version: Int64, lock: LockRecord?, holderSessionAlive: Bool?, lastFailure: FailureRecord?, now: Double) {
        self.version = version
        self.lock = lock
        self.holderSessionAlive = holderSessionAlive
        self.lastFailure = lastFailure
        self.now = now
    }

    /// A holder that is gone: its lease ran out, or its session ended.
    public var lockIsStale: Bool {
        guard let lock else { return false }
        return lock.expiresAt < now || holderSessionAlive == false
    }
}
