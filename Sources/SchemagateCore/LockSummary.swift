/// Who holds the migration lock, as `plan` shows it beside the pending list: so that an operator
/// sees who migrates, and whether that holder is alive, without SQL or a daemon's socket.
public struct LockSummary: Sendable, Equatable, Encodable {
    /// Whether the holder's database session can be seen, and if so whether it is still there.
    public enum Session: String, Sendable, Encodable {
        case connected
        case gone
        /// Behind a pooler, or not visible to this role: only the lease tells.
        case notVisible = "not visible"
    }

    public let owner: String
    public let host: String
    public let pid: Int32
    public let heldSeconds: Int64
    /// Negative once the lease has run out.
    public let leaseRemainingSeconds: Int64
    public let session: Session
    /// Gone holders' locks are taken over by the next instance (or broken by `unlock`).
    public let stale: Bool

    /// Nil when no lock is held.
    public init?(_ snapshot: LockSnapshot) {
        guard let lock = snapshot.lock else { return nil }
        owner = lock.owner
        host = lock.host
        pid = lock.pid
        heldSeconds = (snapshot.now - lock.takenAt).wholeSeconds
        // Not below -Int64.max, so that "ran out … ago" can negate it (a hostile record may say -1e300).
        leaseRemainingSeconds = Swift.max(-Int64.max, (lock.expiresAt - snapshot.now).clampedInt64)
        session = snapshot.holderSessionAlive.map { $0 ? .connected : .gone } ?? .notVisible
        stale = snapshot.lockIsStale
    }

    /// "held by host-b pid 812 for 12s, session connected, lease 8s more".
    public var text: String {
        let lease = leaseRemainingSeconds >= 0 ? "lease \(leaseRemainingSeconds)s more" : "lease ran out \(-leaseRemainingSeconds)s ago"
        let verdict = stale ? "; the holder is gone: the next instance takes the lock over (or `schemagate unlock`)" : ""
        return "held by \(host) pid \(pid) for \(heldSeconds)s, session \(session.rawValue), \(lease)\(verdict)"
    }

    enum CodingKeys: String, CodingKey {
        case owner, host, pid, session, stale
        case heldSeconds = "held_seconds"
        case leaseRemainingSeconds = "lease_remaining_seconds"
    }
}
