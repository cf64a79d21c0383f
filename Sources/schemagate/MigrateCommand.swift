import ArgumentParser
import SchemagateCore
import SchemagateStore

/// `schemagate migrate`: the fleet protocol once, in the foreground.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the schema to the target version (waiting for another instance if it holds the lock); exit 0 when there."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var folder: FolderOptions
    @OptionGroup var target: TargetOption
    @OptionGroup var locking: LockingOptions
    @OptionGroup var governor: GovernorOptions
    @OptionGroup var runOptions: RunOptions

    @Flag(help: "Wait (up to --lock-wait) until live instances of older releases are gone and the contract migrations they hold back are applied.")
    var waitForContract = false

    func run() async throws {
        let identity = InstanceIdentity.current()
        let logger = try runOptions.makeLogger(instance: identity.id)
        let configuration = Migrator.Configuration(
            connectionString: try database.connectionString(),
            store: try database.storeConfiguration(locking, governor: governor),
            target: try target.targetVersion(),
            lockWait: try runOptions.lockWaitDuration(),
            contractPolicy: waitForContract || Environment.value(forOption: "wait-for-contract") == "true" ? .waitForContracts : .applyAllowed
        )
        let migrations = try folder.load()
        let events = EventLogger(logger: logger)
        let migrator = Migrator(configuration: configuration, folder: migrations, identity: identity, logger: logger, onEvent: events.log)
        do {
            _ = try await migrator.run()
        } catch {
            throw CommandFailure(error.exitCode, error.description)
        }
    }
}
