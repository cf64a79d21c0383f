import FoundationEssentials
import Logging
import PQ
import SchemagateCore

/// Executes `LockProtocol`'s decisions against PostgreSQL: connects (with backoff), observes,
/// takes the lock, applies pending migrations fenced, renews the lease meanwhile, releases.
public struct Migrator: Sendable {
    public struct Configuration: Sendable {
        public var connectionString: ConnectionString
        public var store: StoreConfiguration
        /// Explicit `--target`; nil means the folder's highest version.
        public var target: Int64?
        public var lockWait: Duration
        public var pollInterval: Duration

        public init(connectionString: ConnectionString, store: StoreConfiguration, target: Int64?,
                    lockWait: Duration, pollInterval: Duration = .milliseconds(500)) {
            self.connectionString = connectionString
            self.store = store
            self.target = target
            self.lockWait = lockWait
            self.pollInterval = pollInterval
        }
    }

    public let configuration: Configuration
    public let folder: MigrationFolder
    public let identity: InstanceIdentity
    public let logger: Logger
    public let onEvent: @Sendable (MigratorEvent) -> Void

    public init(configuration: Configuration, folder: MigrationFolder, identity: InstanceIdentity,
                logger: Logger, onEvent: @escaping @Sendable (MigratorEvent) -> Void = { _ in }) {
        self.configuration = configuration
        self.folder = folder
        self.identity = identity
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Brings the schema to the target. Returns the version reached; throws `MigrateError`.
    public func run() async throws(MigrateError) -> Int64 {
        do {
            _ = try MigrationPlan.checkTarget(configuration.target, folder: folder)
        } catch {
            throw .plan(error)
        }
        let session = Session(configuration: configuration, logger: logger, onEvent: onEvent)
        defer { session.close() }
        // Plan first, without the lock: a bad checksum or target fails here, and an up-to-date
        // schema is ready at once (the fast path).
        let plan = try await session.retrying { store in
            try Self.plan(folder: folder, state: try await store.schemaState(), target: configuration.target)
        }
        onEvent(.planned(current: plan.current, target: plan.target, pending: plan.pending.map(\.version)))
        if plan.isUpToDate {
            onEvent(.ready(version: plan.current, ahead: plan.isAhead))
            return plan.current
        }
        var machine = LockProtocol(configuration: .init(
            instance: identity.id, target: plan.target,
            checksums: Dictionary(uniqueKeysWithValues: folder.migrations.map { ($0.version, $0.checksum) }),
            lockWait: configuration.lockWait, pollInterval: configuration.pollInterval
        ))
        var action = machine.start(now: .now)
        var reportedHolder: (owner: String, at: ContinuousClock.Instant)?
        var lastSnapshot: LockSnapshot?
        while true {
            switch action {
            case .observe:
                do {
                    let snapshot = try await session.store().snapshot()
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
                let result = try await HolderRun(session: session, folder: folder, identity: identity, target: plan.target).run()
                if case .lockLost(let owner) = result { onEvent(.lostLock(to: owner)) }
                action = machine.migrationEnded(result, now: .now)
            case .finish(let outcome):
                switch outcome {
                case .ready(let version):
                    onEvent(.ready(version: version, ahead: version > plan.target))
                    return version
                case .failedElsewhere(let record): throw .failedElsewhere(record)
                case .unavailable(let message): throw .unavailable(message)
                case .lockWaitExceeded(let holder): throw .lockWaitExceeded(holder, waited: configuration.lockWait)
                }
            }
        }
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

    static func plan(folder: MigrationFolder, state: SchemaState, target: Int64?) throws(MigrateError) -> MigrationPlan {
        do {
            return try MigrationPlan.make(folder: folder, state: state, target: target)
        } catch {
            throw .plan(error)
        }
    }
}

extension Duration {
    /// ±25 % so that a fleet started together does not poll in lockstep.
    func jittered() -> Duration {
        self * Double.random(in: 0.75...1.25)
    }
}
