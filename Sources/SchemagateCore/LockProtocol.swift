/// The fleet lock protocol (docs/design.md) as a state machine: it is told what the database said
/// and what time it is, and answers with the next thing to do. It performs no I/O, so every
/// transition can be driven by a unit test; `Migrator` executes its actions.
public struct LockProtocol: Sendable {
    public struct Configuration: Sendable {
        /// This run's instance id, as written into the lock record.
        public var instance: String
        public var target: Int64
        /// The checksum of each version this instance would apply, to recognise a failure that
        /// another instance just recorded for the very same file.
        public var checksums: [Int64: String]
        /// Give up when neither the lock nor the version has moved for this long.
        public var lockWait: Duration
        /// How often a waiter looks again (callers add jitter).
        public var pollInterval: Duration
        /// Ceiling of the exponential backoff after database errors.
        public var maxBackoff: Duration

        public init(instance: String, target: Int64, checksums: [Int64: String] = [:], lockWait: Duration,
                    pollInterval: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(5)) {
            self.instance = instance
            self.target = target
            self.checksums = checksums
            self.lockWait = lockWait
            self.pollInterval = pollInterval
            self.maxBackoff = maxBackoff
        }

        /// An operator command (`rollback`, `repair`) takes the lock whatever the version: no
        /// version counts as reached, and no failure recorded elsewhere stops it. It waits for a live
        /// holder, replaces a stale one and backs off on database trouble exactly like `migrate`.
        public static func operatorCommand(instance: String, lockWait: Duration,
                                           pollInterval: Duration = .milliseconds(500)) -> Configuration {
            Configuration(instance: instance, target: .max, lockWait: lockWait, pollInterval: pollInterval)
        }
    }

    public enum Action: Sendable, Equatable {
        /// Read version, lock and last failure (one statement).
        case observe
        /// Try to take the lock: insert it when free, or replace the named stale owner.
        case acquire(replacing: String?)
        /// Sleep (or wait for a NOTIFY) at most this long, then observe again.
        case wait(Duration, WaitReason)
        /// The lock is ours: re-read the schema state, apply what is pending, release.
        case migrate
        case finish(Outcome)
    }

    public enum WaitReason: Sendable, Equatable {
        /// A live holder has the lock (held this many seconds).
        case lockHeld(LockRecord, heldFor: Double)
        /// The database could not be reached or answered with a transient error.
        case databaseTrouble(String, attempt: Int)
    }

    public enum Outcome: Sendable, Equatable {
        /// The schema is at (or past) the target.
        case ready(version: Int64)
        /// Another instance just failed on this same migration file; do not repeat it.
        case failedElsewhere(FailureRecord)
        /// The database stayed unreachable for `lockWait`.
        case unavailable(String)
        /// A live holder kept the lock without progress for `lockWait`.
        case lockWaitExceeded(LockRecord?)
    }

    /// What the migrate action ended with.
    public enum MigrationResult: Sendable, Equatable {
        case reachedTarget(version: Int64)
        case lockLost(by: String?)
        /// A transient error (lost connection, lock timeout); the lock may or may not still be ours.
        case interrupted(String)
    }

    private enum State: Sendable, Equatable {
        case idle
        case observing
        case acquiring
        case waiting
        case migrating
        case finished
    }

    public let configuration: Configuration
    private var state: State = .idle
    /// Local time of the last sign of progress (start, a version change, a new holder).
    private var lastProgress: ContinuousClock.Instant?
    private var lastVersion: Int64?
    private var lastOwner: String?
    /// The database clock at the first observation: failures recorded after it are "fresh".
    private var firstObservedAt: Double?
    private var consecutiveErrors = 0
    /// While waiting on a live holder: the wait's reason, and when the next observation is due
    /// (one poll interval after the last), however many NOTIFYs arrive meanwhile.
    private var heldWait: (reason: WaitReason, observeBy: ContinuousClock.Instant)?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public mutating func start(now: ContinuousClock.Instant) -> Action {
        precondition(state == .idle, "start() called twice")
        lastProgress = now
        state = .observing
        return .observe
    }

    public mutating func observed(_ snapshot: LockSnapshot, now: ContinuousClock.Instant) -> Action {
        guard state == .observing else { preconditionFailure("observed() in state \(state)") }
        consecutiveErrors = 0
        if firstObservedAt == nil { firstObservedAt = snapshot.now }
        if snapshot.version != lastVersion || snapshot.lock?.owner != lastOwner {
            lastProgress = now
            lastVersion = snapshot.version
            lastOwner = snapshot.lock?.owner
        }
        if snapshot.version >= configuration.target {
            return finish(.ready(version: snapshot.version))
        }
        if let failure = snapshot.lastFailure, isFresh(failure, for: snapshot.version), snapshot.lock == nil {
            return finish(.failedElsewhere(failure))
        }
        guard let lock = snapshot.lock else {
            state = .acquiring
            return .acquire(replacing: nil)
        }
        if lock.owner == configuration.instance {
            // Ours already: a reconnect after a broken connection found the record still ours.
            state = .migrating
            return .migrate
        }
        if snapshot.lockIsStale {
            state = .acquiring
            return .acquire(replacing: lock.owner)
        }
        if let lastProgress, now - lastProgress >= configuration.lockWait {
            return finish(.lockWaitExceeded(lock))
        }
        state = .waiting
        let reason = WaitReason.lockHeld(lock, heldFor: max(0, snapshot.now - lock.takenAt))
        heldWait = (reason, now + configuration.pollInterval)
        return .wait(configuration.pollInterval, reason)
    }

    public mutating func acquired(_ won: Bool, now: ContinuousClock.Instant) -> Action {
        guard state == .acquiring else { preconditionFailure("acquired() in state \(state)") }
        consecutiveErrors = 0
        if won {
            state = .migrating
            return .migrate
        }
        // Someone else won the race: look again at once to see who, and wait for them.
        state = .observing
        return .observe
    }

    /// The wait is over (timer or NOTIFY). A NOTIFY from the holder's committing transaction
    /// that announces the target is as good as an observation: the fleet wakes and finishes
    /// without another round of queries. One that announces a version short of the target is
    /// the holder's progress, proven by its commit: the waiter counts it and keeps waiting until
    /// its observation is due, instead of the whole fleet querying once per migration.
    public mutating func waited(now: ContinuousClock.Instant, announcedVersion: Int64? = nil) -> Action {
        guard state == .waiting else { preconditionFailure("waited() in state \(state)") }
        let held = heldWait
        heldWait = nil
        if let announcedVersion, announcedVersion >= configuration.target {
            return finish(.ready(version: announcedVersion))
        }
        if let announcedVersion, let held, now < held.observeBy {
            if announcedVersion > (lastVersion ?? .min) {
                lastProgress = now
                lastVersion = announcedVersion
            }
            heldWait = held
            return .wait(held.observeBy - now, held.reason)
        }
        state = .observing
        return .observe
    }

    public mutating func migrationEnded(_ result: MigrationResult, now: ContinuousClock.Instant) -> Action {
        guard state == .migrating else { preconditionFailure("migrationEnded() in state \(state)") }
        switch result {
        case .reachedTarget(let version):
            return finish(.ready(version: version))
        case .lockLost:
            // Someone else holds the lock now (a takeover after a stall, or `unlock --force`):
            // nothing more was applied by us, and the target may still be reached by them. Wait
            // like any other instance; `lockWait` bounds it if nobody makes progress.
            lastProgress = now
            state = .observing
            return .observe
        case .interrupted(let message):
            lastProgress = now
            return backoff(message, now: now)
        }
    }

    /// A statement failed with a transient error (or the connection could not be made).
    public mutating func databaseFailed(_ message: String, now: ContinuousClock.Instant) -> Action {
        switch state {
        case .observing, .acquiring, .migrating:
            return backoff(message, now: now)
        case .idle, .waiting, .finished:
            preconditionFailure("databaseFailed() in state \(state)")
        }
    }

    public var isFinished: Bool { state == .finished }

    // MARK: - Internals

    private mutating func backoff(_ message: String, now: ContinuousClock.Instant) -> Action {
        consecutiveErrors += 1
        if let lastProgress, now - lastProgress >= configuration.lockWait {
            return finish(.unavailable(message))
        }
        state = .waiting
        return .wait(Self.backoffDelay(attempt: consecutiveErrors, ceiling: configuration.maxBackoff),
                     .databaseTrouble(message, attempt: consecutiveErrors))
    }

    /// 100ms, 200ms, 400ms, … up to `ceiling` (callers add jitter).
    public static func backoffDelay(attempt: Int, ceiling: Duration) -> Duration {
        let exponent = min(max(attempt - 1, 0), 16)
        return min(.milliseconds(100 * (1 << exponent)), ceiling)
    }

    private func isFresh(_ failure: FailureRecord, for version: Int64) -> Bool {
        guard let firstObservedAt, failure.at >= firstObservedAt - 1 else { return false }
        guard let checksum = configuration.checksums[failure.version] else { return false }
        return failure.version > version && failure.checksum == checksum
    }

    private mutating func finish(_ outcome: Outcome) -> Action {
        state = .finished
        return .finish(outcome)
    }
}
