import ArgumentParser
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
    @OptionGroup var governor: GovernorOptions
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
        let configuration = Migrator.Configuration(
            connectionString: try database.connectionString(), store: try database.storeConfiguration(locking, governor: governor),
            target: nil, lockWait: try runOptions.lockWaitDuration())
        let run = OperatorRun(configuration: configuration, identity: identity, logger: logger, onEvent: EventLogger(logger: logger).log)
        // A live release that needs what the rollback would undo refuses it first, before the lock.
        if !force { try await refuseWhileNeeded() }
        do {
            _ = try await run.rollback(to: target, folder: folder)
        } catch {
            throw CommandFailure(error.exitCode, error.description)
        }
    }

    /// The fleet guard: live instances whose target is above `--to` would lose what they use.
    private func refuseWhileNeeded() async throws {
        let store = try await database.openStore(locking)
        defer { store.connection.close() }
        let members: [FleetMember]
        do {
            members = try await store.fleetTableExists() ? try await store.fleetView(beat: nil).members : []
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
        let blockers = ContractGate.rollbackBlockers(to: target, fleet: members)
        guard !blockers.isEmpty else { return }
        let list = blockers.map { "\($0.label) (release \($0.release), target \($0.target))" }.joined(separator: ", ")
        throw CommandFailure(.incompatible, "rollback --to \(target) refused: live instances need a version above it: \(list); replace them with a release whose target is \(target) or below first (or pass --force)")
    }
}
