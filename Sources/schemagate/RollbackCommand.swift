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
    @Option(help: ArgumentHelp("Migrations folder whose .down.sql files are preferred (default ./migrations; optional).", valueName: "dir"))
    var migrations: String?
    @OptionGroup var runOptions: RunOptions

    func run() async throws {
        let identity = InstanceIdentity.current()
        let logger = try runOptions.makeLogger(instance: identity.id)
        let path = migrations ?? Environment.value(forOption: "migrations") ?? "migrations"
        let folder = try? MigrationFolder.load(path: path)
        let configuration = Migrator.Configuration(
            connectionString: try database.connectionString(), store: try database.storeConfiguration(locking),
            target: nil, lockWait: try runOptions.lockWaitDuration())
        let run = OperatorRun(configuration: configuration, identity: identity, logger: logger, onEvent: EventLogger(logger: logger).log)
        do {
            _ = try await run.rollback(to: target, folder: folder)
        } catch {
            throw CommandFailure(error.exitCode, error.description)
        }
    }
}
