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
        /// The daemon's fleet row (nil: a one-shot command, which does not register).
        public var registration: FleetRegistration?
        /// How far to go when live instances of older releases hold a contract migration back.
        public var contractPolicy: ContractPolicy

        public init(connectionString: ConnectionString, store: StoreConfiguration, target: Int64?,
                    lockWait: Duration, pollInterval: Duration = .milliseconds(500),
                    registration: FleetRegistration? = nil, contractPolicy: ContractPolicy = .applyAllowed) {
            self.registration = registration
            self.contractPolicy = contractPolicy
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

    /// Brings the schema to the target, or as far as the contract gate allows. Returns the version
    /// reached; throws `MigrateError`.
    public func run() async throws(MigrateError) -> Int64 {
        do {
            _ = try MigrationPlan.checkTarget(configuration.target, folder: folder)
        } catch {
            throw .plan(error)
        }
        let session = Session(configuration: configuration, logger: logger, onEvent: onEvent)
        defer { session.close() }
        let started = ContinuousClock.now
        var reportedWaits: [ContractGate.Wait]?
        var first = true
        while true {
            // Plan first, without the lock: a bad checksum or target fails here, and an up-to-date
            // schema is ready at once (the fast path). The fleet is read only when the gate can
            // need it, or to register a daemon before it is ready; a waiter woken at the target
            // registered when it started and beats again once ready.
            let beat = configuration.registration(state: first ? "starting" : "waiting")
            let registering = first && beat != nil
            let (plan, view) = try await session.retrying { store -> (MigrationPlan, FleetView?) in
                let plan = try Self.plan(folder: folder, state: try await store.schemaState(), target: configuration.target)
                guard registering || ContractGate.needsFleet(applied: plan.current, target: plan.target) else {
                    return (plan, nil)
                }
                return (plan, try await store.fleetView(beat: beat))
            }
            if first { onEvent(.planned(current: plan.current, target: plan.target, pending: plan.pending.map(\.version))) }
            first = false
            let gate = ContractGate(migrations: folder.migrations, applied: plan.current, target: plan.target,
                                    others: view?.holdingMembers ?? [], appliedContracts: view?.appliedContracts ?? [])
            let step = gate.step(current: plan.current, policy: configuration.contractPolicy,
                                 waitedTooLong: ContinuousClock.now - started >= configuration.lockWait)
            if case .incompatible = step {} else if reportedWaits != gate.waits {
                onEvent(.contractWaiting(gate.waits))
                reportedWaits = gate.waits
            }
            switch step {
            case .incompatible(let contract):
                throw .incompatible(contract, target: plan.target)
            case .apply(let limit):
                _ = try await runLockProtocol(session: session, target: limit)
            case .finish:
                onEvent(.ready(version: plan.current, ahead: plan.isAhead))
                return plan.current
            case .giveUp(let wait):
                throw .contractWaitExceeded(wait, waited: configuration.lockWait)
            case .wait:
                try? await Task.sleep(for: configuration.pollInterval.jittered())
                if Task.isCancelled { throw .stopped }
            }
        }
    }

    /// The fleet lock protocol up to `target`: observe, take the lock or wait, apply fenced.
    private func runLockProtocol(session: Session, target: Int64) async throws(MigrateError) -> Int64 {
        var machine = LockProtocol(configuration: .init(
            instance: identity.id, target: target,
            checksums: Dictionary(uniqueKeysWithValues: folder.migrations.map { ($0.version, $0.checksum) }),
            lockWait: configuration.lockWait, pollInterval: configuration.pollInterval
        ))
        let version = try await LockLoop(session: session, identity: identity, logger: logger, onEvent: onEvent)
            .run(&machine, beat: configuration.registration(state: "waiting")) { () throws(MigrateError) in
                try await HolderRun(session: session, folder: folder, identity: identity, target: target).run()
            }
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

extension Migrator.Configuration {
    /// Our fleet row in `state`, or nil when this run does not register.
    func registration(state: String) -> FleetRegistration? {
        guard var registration else { return nil }
        registration.state = state
        return registration
    }
}

extension Duration {
    /// ±25 % so that a fleet started together does not poll in lockstep.
    func jittered() -> Duration {
        self * Double.random(in: 0.75...1.25)
    }
}
