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
        let version = try await LockLoop(session: session, identity: identity, logger: logger, onEvent: onEvent).run(&machine) { () throws(MigrateError) in
            try await HolderRun(session: session, folder: folder, identity: identity, target: plan.target).run()
        }
        onEvent(.ready(version: version, ahead: version > plan.target))
        return version
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
