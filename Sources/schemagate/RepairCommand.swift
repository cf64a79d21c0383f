import ArgumentParser
import SchemagateCore
import SchemagateStore

/// `schemagate repair`: after an operator has checked the database, accept changed checksums and
/// clear an interrupted no-transaction migration and the last failure. Recorded in history.
struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Accept changed checksums and clear an interrupted migration's mark, after checking the database."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var folder: FolderOptions
    @OptionGroup var locking: LockingOptions
    @Flag(help: "Record the interrupted no-transaction migration as applied (it did finish) instead of pending.")
    var applied = false
    @OptionGroup var runOptions: RunOptions

    func run() async throws {
        let migrations = try folder.load()
        let identity = InstanceIdentity.current()
        let logger = try runOptions.makeLogger(instance: identity.id)
        let configuration = Migrator.Configuration(
            connectionString: try database.connectionString(), store: try database.storeConfiguration(locking),
            target: nil, lockWait: try runOptions.lockWaitDuration())
        let run = OperatorRun(configuration: configuration, identity: identity, logger: logger, onEvent: EventLogger(logger: logger).log)
        let report: RepairReport
        do {
            report = try await run.repair(folder: migrations, markApplied: applied)
        } catch {
            throw CommandFailure(error.exitCode, error.description)
        }
        if report.acceptedChecksums.isEmpty && report.clearedDirty == nil && !report.clearedFailure {
            print("nothing to repair")
        }
        for version in report.acceptedChecksums { print("accepted the new checksum of version \(version)") }
        if let dirty = report.clearedDirty {
            print(report.markedApplied
                  ? "recorded interrupted version \(dirty.version) (\(MigrationTitle.shown(dirty.name))) as applied"
                  : "cleared the interrupted mark of version \(dirty.version) (\(MigrationTitle.shown(dirty.name))); it runs again on the next migrate")
        }
        if report.clearedFailure { print("cleared the last recorded failure") }
    }
}
