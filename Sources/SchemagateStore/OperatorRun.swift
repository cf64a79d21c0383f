import Logging
import PQ
import SchemagateCore

/// The lock-holding part of an operator command (`rollback`, `repair`): it takes the lock through
/// the same `LockProtocol` and `LockLoop` as `migrate` (waiting up to `--lock-wait` without
/// progress, replacing a stale holder and ending its session, backing off on database trouble),
/// runs one job with the lease renewed beside it, and releases. The job fences each of its steps.
public struct OperatorRun: Sendable {
    public let configuration: Migrator.Configuration
    public let identity: InstanceIdentity
    public let logger: Logger
    public let onEvent: @Sendable (MigratorEvent) -> Void

    public init(configuration: Migrator.Configuration, identity: InstanceIdentity, logger: Logger,
                onEvent: @escaping @Sendable (MigratorEvent) -> Void = { _ in }) {
        self.configuration = configuration
        self.identity = identity
        self.logger = logger
        self.onEvent = onEvent
    }

    /// What a job ended with while it held the lock.
    public enum JobResult<Value: Sendable>: Sendable {
        case done(Value)
        /// A fence found the lock taken from us (or the version moved): nothing more was done.
        case lockLost(by: String?)
    }

    /// Runs `check` before taking the lock (a refusal there changes nothing and waits for no
    /// one), then `job` while holding it. A lost connection reconnects and runs `job` again from a
    /// fresh read of the state; a job that loses the lock ends with `.lockLost` (exit 75).
    /// A `governed` job gets a governor watch, fresh for each time it holds the lock, on the
    /// lease connection beside it (nil otherwise).
    func run<Value: Sendable>(check: (SchemaStore) async throws -> Void, governed: Bool = false,
                              job: (SchemaStore, GovernorWatch?) async throws -> JobResult<Value>) async throws(MigrateError) -> Value {
        let session = Session(configuration: configuration, logger: logger, onEvent: onEvent)
        defer { session.close() }
        try await session.retrying { store in try await check(store) }
        var machine = LockProtocol(configuration: .operatorCommand(
            instance: identity.id, lockWait: configuration.lockWait, pollInterval: configuration.pollInterval))
        var value: Value?
        _ = try await LockLoop(session: session, identity: identity, logger: logger, onEvent: onEvent).run(&machine) { () throws(MigrateError) in
            let store: SchemaStore
            switch try await session.holderStore(owner: identity.id) {
            case .ready(let adopted): store = adopted
            case .ended(let result): return result
            }
            let watch = governed ? GovernorWatch(settings: configuration.store.governor) { [onEvent] in onEvent(.progress($0)) } : nil
            let renewer = LeaseRenewer(configuration: configuration, owner: identity.id, logger: logger, watch: watch)
            do {
                switch try await renewer.renewing({ try await job(store, watch) }) {
                case .done(let result): value = result
                case .lockLost(let owner): throw MigrateError.lockLost(by: owner)
                }
            } catch let error as MigrateError {
                if case .lockLost = error {} else { await HolderRun.release(store, owner: identity.id, session: session) }
                throw error
            } catch {
                if Task.isCancelled {
                    await HolderRun.cleanUpAfterCancellation(store, owner: identity.id)
                    throw .stopped
                }
                switch MigrateError.classify(error, settingsTable: configuration.store.settingsTable) {
                case .transient(let message):
                    session.drop()
                    return .interrupted(message)
                case .permanent(let failure):
                    await HolderRun.release(store, owner: identity.id, session: session)
                    throw failure
                }
            }
            await HolderRun.release(store, owner: identity.id, session: session)
            return .reachedTarget(version: 0)
        }
        // The machine ends only through the job: `value` is set, or an error was thrown.
        guard let value else { preconditionFailure("operator job ended without a result") }
        return value
    }
}
