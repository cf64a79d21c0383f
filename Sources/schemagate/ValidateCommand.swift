import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore
import SchemagateStore

/// `schemagate validate`: every problem of the folder, then checksums against the database.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "List the folder's problems and checksum mismatches against the database; change nothing."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var folder: FolderOptions
    @Flag(help: "Check the folder only; do not connect.") var offline = false
    @Flag(help: "Also say, per migration, how it will run (transaction or not, which directive) and what its down does.") var explain = false

    func run() async throws {
        let migrations: MigrationFolder
        do {
            migrations = try MigrationFolder.load(path: folder.path)
        } catch {
            error.problems.forEach { print($0.description) }
            throw CommandFailure(.invalidMigrations, "\(folder.path): \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s")")
        }
        print("\(folder.path): \(migrations.migrations.count) migrations, highest \(migrations.highestVersion ?? 0)")
        if explain {
            migrations.migrations.forEach { MigrationExplanation($0).lines.forEach { print($0) } }
        }
        if offline { return }
        let store = try await database.openStore()
        defer { store.connection.close() }
        let state: SchemaState
        do {
            state = try await store.readStateIfPresent()
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
        var problems: [String] = []
        for migration in migrations.migrations where migration.version <= state.version {
            guard let applied = state.applied[migration.version] else {
                problems.append(PlanProblem.notRecorded(file: migration.upFile, version: migration.version, current: state.version).description)
                continue
            }
            if applied.checksum != migration.checksum {
                problems.append(PlanProblem.checksumMismatch(version: migration.version, file: migration.upFile,
                                                             recorded: applied.checksum, found: migration.checksum).description)
            }
        }
        if let dirty = state.dirty {
            problems.append("version \(dirty.version) (\(MigrationTitle.shown(dirty.name))) is marked dirty: an interrupted no-transaction migration")
        }
        problems.forEach { print($0) }
        if !problems.isEmpty {
            throw CommandFailure(.invalidMigrations, "database at version \(state.version): \(problems.count) problem\(problems.count == 1 ? "" : "s")")
        }
        print("database at version \(state.version): checksums match")
    }
}
