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
        let store = try await database.openStore(locking)
        defer { store.connection.close() }
        do {
            try await store.bootstrap()
            let lockWait = try runOptions.lockWaitDuration()
            if let holder = try await store.acquireWaiting(for: identity, lockWait: lockWait) {
                throw CommandFailure(.lockHeld, "the migration lock stayed held by \(holder.holderDescription) for --lock-wait \(DurationParser.format(lockWait)); repair when no migration runs")
            }
            let report: RepairReport
            do {
                report = try await store.repair(folder: migrations, markApplied: applied, identity: identity)
            } catch {
                _ = try? await store.releaseLock(owner: identity.id)
                throw error
            }
            _ = try await store.releaseLock(owner: identity.id)
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
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
    }
}
