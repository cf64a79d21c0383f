import PQ
import SchemagateCore
import Synchronization

/// The hand-off between the connection that runs a migration's statements and the one that
/// watches them (the lease renewer's): which server backend to watch, what the governor decided,
/// and whether the watch is up at all, so that a governed statement never starts, nor keeps
/// running, unwatched. The cancel it sends goes to our own statement only, through libpq's
/// cancel request for our connection.
public final class GovernorWatch: Sendable {
    /// The statement to sample: its server backend, and a number that tells one statement's
    /// samples from the next one's.
    public struct Target: Sendable, Equatable {
        public let sequence: Int
        public let backendPID: Int32
    }

    private struct Running {
        let target: Target
        let connection: Connection
        /// What progress reports name: the migration's label and the statement's line.
        let migration: String
        let line: Int?
        let started = ContinuousClock.now
        var decision: Governor.Action?
        var reported: (progress: StatementProgress, at: ContinuousClock.Instant)?
        /// When each blocked session was first seen: the wait of a lock whose `waitstart` the
        /// server has not filled in yet (or an older server without it) still grows.
        var firstSeen: [Int32: ContinuousClock.Instant] = [:]
        /// The last look at this statement, for the sampling gap; the cancel request, for its latency.
        var lookedAt: ContinuousClock.Instant?
        var cancelledAt: ContinuousClock.Instant?
    }

    private struct State {
        var watching = false
        var ended = false
        var governor: Governor
        var running: Running?
        var sequence = 0
        /// Measured across statements and files: how late the governor can act on a look.
        var reaction = GovernorReaction(sampleInterval: GovernorWatch.sampleInterval)
    }

    private let state: Mutex<State>
    private let onProgress: @Sendable (StatementProgress) -> Void

    /// Progress is reported this often at most, unless the phase, the lock wait or the number of
    /// waiting sessions changes.
    static let progressInterval: Duration = .milliseconds(250)
    /// How often the locks are sampled while a governed statement runs, and while it makes
    /// someone wait.
    static let sampleInterval: Duration = .milliseconds(50)
    static let blockingSampleInterval: Duration = .milliseconds(20)

    public init(settings: GovernorSettings, onProgress: @escaping @Sendable (StatementProgress) -> Void = { _ in }) {
        state = Mutex(State(governor: Governor(settings: settings)))
        self.onProgress = onProgress
    }

    /// A new migration file: its own retry count, and whether it is governed at all.
    public func beginMigration(allowBlocking: Bool) {
        state.withLock { $0.governor = Governor(settings: $0.governor.settings, allowBlocking: allowBlocking) }
    }

    /// Registers the statement about to run on `connection` (server backend `backendPID`). A
    /// governed statement waits here until the watch is up, for at most `limit`; past that, or
    /// once the watcher has stopped, it does not run (a transient error: the holder reconnects
    /// and fences again).
    public func beginStatement(on connection: Connection, backendPID: Int32, migration: String, line: Int?,
                               waitingUpTo limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while true {
            try Task.checkCancellation()
            let started: Bool? = state.withLock { state in
                if state.ended { return nil }
                guard state.watching || state.governor.allowBlocking else { return false }
                state.sequence += 1
                state.governor.attemptStarted()
                state.running = Running(target: Target(sequence: state.sequence, backendPID: backendPID), connection: connection,
                                        migration: migration, line: line)
                return true
            }
            switch started {
            case true?: return
            case nil:
                throw PQError(kind: .connectionLost, message: "the lease renewer stopped (the lock record is no longer ours), so the statement was not sent")
            case false?:
                guard ContinuousClock.now < deadline else {
                    throw PQError(kind: .connectionLost, message: "the governor could not watch for \(DurationParser.format(limit)) (its connection failed), so the statement was not sent")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// The statement returned (or failed): what the governor decided while it ran, if anything.
    public func endStatement() -> Governor.Action? {
        state.withLock { state in
            defer { state.running = nil }
            if let cancelledAt = state.running?.cancelledAt {
                state.reaction.cancelled(took: .now - cancelledAt)
            }
            return state.running?.decision
        }
    }

    /// The governor's retries of the current migration so far.
    public var retriesUsed: Int { state.withLock { $0.governor.retriesUsed } }

    // MARK: - The watcher's side

    /// The statement to sample now, if one runs and has run long enough for a look to matter
    /// (`Governor.firstLook`).
    public func target(serverRecordsWaitStart: Bool) -> Target? {
        state.withLock { state in
            guard let running = state.running else { return nil }
            let settle = state.governor.firstLook(sampleInterval: Self.sampleInterval, serverRecordsWaitStart: serverRecordsWaitStart)
            return ContinuousClock.now - running.started >= settle ? running.target : nil
        }
    }

    /// How long the watcher sleeps before its next look.
    public var nextLook: Duration {
        state.withLock { state in
            state.running == nil ? Self.sampleInterval
                : state.governor.nextLook(normal: Self.sampleInterval, whileBlocking: Self.blockingSampleInterval)
        }
    }

    /// The watching connection is up (again).
    public func connected() {
        state.withLock { $0.watching = true }
    }

    /// The watching connection failed: a governed statement is cancelled rather than left unwatched.
    public func lost() {
        state.withLock { state in
            state.watching = false
            Self.decide(&state) { $0.watchLost(jitter: Double.random(in: 0..<1)) }
        }
    }

    /// The watcher stops for good (the lock is no longer ours, or the holder is done).
    public func finish() {
        state.withLock { state in
            state.watching = false
            state.ended = true
            Self.decide(&state) { $0.watchLost(jitter: Double.random(in: 0..<1)) }
        }
    }

    /// One look at the statement `sequence`; a look at an earlier statement is dropped.
    public func observe(_ look: WatchLook, sequence: Int) {
        let report: StatementProgress? = state.withLock { state in
            guard var running = state.running, running.target.sequence == sequence else { return nil }
            let sample = look.sample
            let now = ContinuousClock.now
            var seen: [Int32: ContinuousClock.Instant] = [:]
            var measured = sample
            measured.blocked = sample.blocked.map { session in
                let first = running.firstSeen[session.pid] ?? now
                seen[session.pid] = first
                return BlockedSession(pid: session.pid, waited: Swift.max(session.waited, now - first))
            }
            running.firstSeen = seen
            if let last = running.lookedAt { state.reaction.sampled(gap: now - last) }
            running.lookedAt = now
            state.running = running
            let horizon = state.reaction.horizon
            Self.decide(&state) { $0.observe(measured, jitter: Double.random(in: 0..<1), horizon: horizon) }
            let progress = StatementProgress(
                migration: running.migration, line: running.line,
                elapsedSeconds: look.elapsedSeconds ?? (now - running.started).seconds,
                command: look.command, phase: look.phase, percent: look.percent,
                waitingOn: sample.waitingOn, waitingFor: sample.waitingFor?.summary,
                blockedSessions: measured.blocked.count, longestBlockSeconds: state.governor.longestWait.seconds)
            if let last = running.reported, now - last.at < Self.progressInterval, !progress.differsInKind(from: last.progress) {
                return nil
            }
            running.reported = (progress, now)
            state.running?.reported = running.reported
            return progress
        }
        if let report { onProgress(report) }
    }

    /// Asks the governor, and cancels our statement the first time it says so. Runs under the
    /// lock, so `endStatement` cannot slip between the decision and the cancel request.
    private static func decide(_ state: inout State, _ ask: (inout Governor) -> Governor.Action) {
        guard var running = state.running, running.decision == nil else { return }
        let action = ask(&state.governor)
        guard action != .keepWatching else { return }
        running.decision = action
        running.cancelledAt = .now
        state.running = running
        running.connection.cancel()
    }
}

extension Duration {
    /// Seconds as a fraction, for reports.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
