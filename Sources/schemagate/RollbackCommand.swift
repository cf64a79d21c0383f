import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore
import SchemagateStore

/// `schemagate rollback --to VERSION`: takes the lock and undoes applied versions, newest first.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Take the lock and roll back to VERSION, newest first, with local or stored down SQL; refuses if any is missing."
    )

    @Option(name: .customLong("to"), help: ArgumentHelp("The version to go back to (an applied version, or 0).", valueName: "version"))
    var target: Int64

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var locking: LockingOptions
    @Option(help: ArgumentHelp("Migrations folder whose .down.sql files are preferred (default ./migrations; optional).", valueName: "dir"))
    var migrations: String?
    @OptionGroup var runOptions: RunOptions
    @Flag(help: "Roll back even though live instances need a version above --to (they report regressed, or exit with --on-regression=exit).")
    var force = false

    func run() async throws {
        let identity = InstanceIdentity.current()
        let logger = try runOptions.makeLogger(instance: identity.id)
        let path = migrations ?? Environment.value(forOption: "migrations") ?? "migrations"
        let folder = try? MigrationFolder.load(path: path)
        let store = try await database.openStore(locking)
        defer { store.connection.close() }
        do {
            try await store.bootstrap()
            // Check and plan before taking the lock, so that a refusal changes nothing at all. A
            // live release that needs what the rollback would undo refuses it first.
            let blockers = ContractGate.rollbackBlockers(to: target, fleet: try await store.fleetView(beat: nil).members)
            if !blockers.isEmpty && !force {
                let list = blockers.map { "\($0.label) (release \($0.release), target \($0.target))" }.joined(separator: ", ")
                throw CommandFailure(.incompatible, "rollback --to \(target) refused: live instances need a version above it: \(list); replace them with a release whose target is \(target) or below first (or pass --force)")
            }
            _ = try plan(folder: folder, state: try await store.schemaState())
            let lockWait = try runOptions.lockWaitDuration()
            if let holder = try await store.acquireWaiting(for: identity, lockWait: lockWait) {
                throw CommandFailure(.lockHeld, "the migration lock stayed held by \(holder.holderDescription) for --lock-wait \(DurationParser.format(lockWait)); roll back when no migration runs")
            }
            // A long down file must not let the lease run out under it: renewed beside the steps.
            let renewer = LeaseRenewer(
                configuration: .init(connectionString: try database.connectionString(), store: store.configuration, target: nil, lockWait: lockWait),
                owner: identity.id, logger: logger)
            do {
                try await renewer.renewing {
                let steps = try plan(folder: folder, state: try await store.schemaState()).steps
                for (index, step) in steps.enumerated() {
                    logger.info("rolling back \(step.version) \(MigrationTitle.shown(step.name)) (\(index + 1) of \(steps.count))", metadata: [
                        "event": "\(SchemagateEvent.migrationStarted.rawValue)", "version": "\(step.version)", "migration": "\(step.name)",
                    ])
                    switch try await store.rollBack(step, identity: identity) {
                    case .applied(let duration):
                        logger.info("rolled back \(step.version) \(MigrationTitle.shown(step.name)) in \(Int(duration.rounded()))ms; schema at \(step.resultingVersion)", metadata: [
                            "event": "\(SchemagateEvent.migrationRolledBack.rawValue)", "version": "\(step.version)", "duration_ms": "\(Int(duration.rounded()))",
                        ])
                    case .lockLost(let owner):
                        throw CommandFailure(.lockLost, "lost the migration lock to \(owner ?? "another instance"); stopped at version \(step.version)")
                    case .versionMoved(let version):
                        throw CommandFailure(.lockLost, "the version moved to \(version) under us; stopped")
                    case .failed(let error, let line, _):
                        throw CommandFailure(.migrationFailed, "down SQL of version \(step.version) (\(MigrationTitle.shown(step.name))) failed at line \(line): \(error.message)\(error.sqlState.map { " (SQLSTATE \($0))" } ?? ""); schema stays at \(step.version)\(step.transactional ? "" : ", marked as an interrupted rollback: fix the down file and roll back again, or check the database and run `schemagate repair`")")
                    case .cancelledByGovernor, .blockedTraffic:
                        preconditionFailure("a rollback runs without a governor watch")
                    }
                }
                }
                _ = try await store.releaseLock(owner: identity.id)
                logger.info("schema at \(target)", metadata: ["event": "\(SchemagateEvent.ready.rawValue)", "version": "\(target)"])
            } catch {
                _ = try? await store.releaseLock(owner: identity.id)
                throw error
            }
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
    }

    private func plan(folder: MigrationFolder?, state: SchemaState) throws -> RollbackPlan {
        do {
            return try RollbackPlan.make(folder: folder, state: state, to: target)
        } catch {
            throw CommandFailure(error.exitCode, error.description)
        }
    }
}
