import FoundationEssentials
import Logging
import PQ
import SchemagateCore

/// Executes `LockProtocol`'s actions against PostgreSQL: observe, take the lock (ending a stale
/// holder's session first), wait or back off, and hand over to `hold` while the lock is ours.
/// `Migrator` and `OperatorRun` share it, so every writer takes the lock the same way.
struct LockLoop {
    let session: Session
    let identity: InstanceIdentity
    let logger: Logger
    let onEvent: @Sendable (MigratorEvent) -> Void

    /// Runs `machine` to its end; returns the version it finished at, or throws its outcome.
    /// `beat`: the fleet row a waiting daemon keeps alive (every third of the lease) on the same
    /// connection as its observations; nil for runs that do not register.
    func run(_ machine: inout LockProtocol, beat: FleetRegistration? = nil,
             hold: () async throws(MigrateError) -> LockProtocol.MigrationResult) async throws(MigrateError) -> Int64 {
        var action = machine.start(now: .now)
        var reportedHolder: (owner: String, at: ContinuousClock.Instant)?
        var lastSnapshot: LockSnapshot?
        var lastBeat = ContinuousClock.now
        while true {
            switch action {
            case .observe:
                do {
                    let store = try await session.store()
                    // A long wait for another's lock must not let our fleet row expire.
                    if let beat, ContinuousClock.now - lastBeat >= session.configuration.store.lease / 3 {
                        _ = try await store.fleetView(beat: beat)
                        lastBeat = .now
                    }
                    let snapshot = try await store.snapshot()
                    lastSnapshot = snapshot
                    action = machine.observed(snapshot, now: .now)
                } catch {
                    action = try machine.databaseFailed(session.transient(error), now: .now)
                }
            case .acquire(let replacing):
                do {
                    let store = try await session.store()
                    let won = try await store.acquireLock(for: identity, replacing: replacing, sessionVisible: session.sessionVisible)
                    if won, let former = lastSnapshot?.lock, former.owner == replacing {
                        await endFormerHolder(former, store: store)
                    }
                    if won { onEvent(.acquired(replaced: replacing)) }
                    action = machine.acquired(won, now: .now)
                } catch {
                    action = try machine.databaseFailed(session.transient(error), now: .now)
                }
            case .wait(let delay, let reason):
                if case .lockHeld(let holder, let heldFor) = reason,
                   reportedHolder?.owner != holder.owner || ContinuousClock.now - reportedHolder!.at > .seconds(5) {
                    onEvent(.waiting(holder: holder, heldFor: heldFor))
                    reportedHolder = (holder.owner, .now)
                }
                var announced: Int64?
                switch reason {
                case .lockHeld:
                    announced = await session.pause(delay.jittered())
                case .databaseTrouble(let message, let attempt):
                    onEvent(.connecting(attempt: attempt, lastError: message))
                    try? await Task.sleep(for: delay.jittered())
                }
                if Task.isCancelled { throw .stopped }
                action = machine.waited(now: .now, announcedVersion: announced)
            case .migrate:
                let result = try await hold()
                if case .lockLost(let owner) = result { onEvent(.lostLock(to: owner)) }
                action = machine.migrationEnded(result, now: .now)
            case .finish(let outcome):
                switch outcome {
                case .ready(let version):
                    await clearGoneHolder(lastSnapshot)
                    return version
                case .failedElsewhere(let record): throw .failedElsewhere(record)
                case .unavailable(let message): throw .unavailable(message)
                case .lockWaitExceeded(let holder): throw .lockWaitExceeded(holder, waited: session.configuration.lockWait)
                }
            }
        }
    }

    /// A holder killed just after its last migration's text reached the server (SQL, version move
    /// and COMMIT go in one round trip) leaves the schema at the target and its lock record
    /// behind. Whoever finds the target reached with that holder provably gone (lease over, or
    /// its visible session ended) deletes the record, naming its owner, so that no one meets it
    /// later: a holder that took the lock meanwhile is never touched.
    private func clearGoneHolder(_ snapshot: LockSnapshot?) async {
        guard let snapshot, snapshot.lockIsStale, let lock = snapshot.lock, lock.owner != identity.id,
              let store = try? await session.store(),
              let removed = try? await store.breakLock(expectedOwner: lock.owner) else { return }
        logger.notice("cleared the lock record of \(removed.holderDescription), which is gone; the schema was already at the target")
    }

    /// A holder whose lease ran out while its session lives (paused, or stalled) could wake and
    /// send its next statement. Before touching anything, end that session: its open transaction
    /// rolls back and nothing more of it reaches the server. Only a direct, visible session can be
    /// ended; through a pooler, or without the right to signal it, the fences before each of its
    /// statements are what stop it.
    private func endFormerHolder(_ former: LockRecord, store: SchemaStore) async {
        guard former.sessionVisible, let backend = former.backendPID else { return }
        do {
            if try await store.terminateSession(pid: backend, startedAt: former.backendStart) {
                logger.notice("ended the session of the former holder \(former.holderDescription) (backend \(backend)), whose lease had expired", metadata: [
                    "event": "\(SchemagateEvent.lockTakenOver.rawValue)", "backend_pid": "\(backend)",
                ])
            }
        } catch {
            logger.warning("could not end the former holder's session (backend \(backend)): \(error); its statements stay fenced by the lock check before each one", metadata: [
                "event": "\(SchemagateEvent.lockTakenOver.rawValue)", "backend_pid": "\(backend)",
            ])
        }
    }
}
