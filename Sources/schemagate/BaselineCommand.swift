import ArgumentParser
import SchemagateCore
import SchemagateStore

/// `schemagate baseline --from TOOL | --version N`: tells schemagate where a database that another
/// tool (or a hand) migrated stands, so that `migrate` and the daemon take over from there.
/// Records history rows with the folder's checksums and the version; applies nothing.
struct BaselineCommand: AsyncParsableCommand {
    // `_superCommandName`: its usage still reads `schemagate baseline` when `main` parses it on
    // its own (see Schemagate.main).
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        _superCommandName: "schemagate",
        abstract: "Record the version another tool brought the database to (or --version N), without applying anything."
    )

    @Option(help: ArgumentHelp("Read that tool's history table: \(ForeignTool.names).", valueName: "tool"))
    var from: String?

    @Option(name: .customLong("version"), help: ArgumentHelp("Record this version as applied instead (a version the folder has).", valueName: "version"))
    var version: Int64?

    @Option(help: ArgumentHelp("The other tool's history table, when it is not that tool's default (schema-qualified or found through search_path).", valueName: "name"))
    var historyTable: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var folder: FolderOptions
    @OptionGroup var locking: LockingOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        switch (from, version) {
        case (nil, nil): throw ValidationError("give --from TOOL (\(ForeignTool.names)) or --version N")
        case (_?, _?): throw ValidationError("give --from TOOL or --version N, not both")
        case (let tool?, nil):
            guard ForeignTool(rawValue: tool) != nil else {
                throw ValidationError("--from '\(tool)': not a tool schemagate reads; use one of \(ForeignTool.names)")
            }
        case (nil, let version?):
            guard version > 0 else { throw ValidationError("--version \(version): give a version above 0 that the folder has") }
            guard historyTable == nil else { throw ValidationError("--history-table goes with --from, not --version") }
        }
    }

    func run() async throws {
        let folder = try self.folder.load()
        let identity = InstanceIdentity.current()
        let store = try await database.openStore(locking)
        defer { store.connection.close() }
        do {
            // Planned before anything is written, so that a refusal leaves the database as it was.
            _ = try await plan(folder: folder, store: store, state: try await store.readStateIfPresent())
            try await store.bootstrap()
            let lockWait = try runOptions.lockWaitDuration()
            if let holder = try await store.acquireWaiting(for: identity, lockWait: lockWait) {
                throw CommandFailure(.lockHeld, "the migration lock stayed held by \(holder.holderDescription) for --lock-wait \(DurationParser.format(lockWait)); baseline when no migration runs")
            }
            let outcome: ApplyOutcome
            let recorded: BaselinePlan
            do {
                // Again under the lock: the other tool may have moved meanwhile.
                recorded = try await plan(folder: folder, store: store, state: try await store.schemaState())
                outcome = try await store.recordBaseline(recorded, identity: identity)
            } catch {
                _ = try? await store.releaseLock(owner: identity.id)
                throw error
            }
            _ = try await store.releaseLock(owner: identity.id)
            switch outcome {
            case .applied:
                let origin = from.map { "from \($0)'s history" } ?? "as given by --version"
                print("baselined at version \(recorded.version) \(origin): recorded \(recorded.recorded.count) version\(recorded.recorded.count == 1 ? "" : "s") with the folder's checksums; applied nothing")
            case .lockLost(let owner):
                throw CommandFailure(.lockLost, "lost the migration lock to \(owner ?? "another instance") before recording; nothing was recorded, run baseline again")
            case .versionMoved(let version):
                throw CommandFailure(.baselineRefused, "the version moved to \(version) under us: schemagate now tracks this database; nothing was recorded")
            case .failed(let error, _, _):
                throw error
            }
        } catch let problem as BaselineProblem {
            throw CommandFailure(problem.exitCode, problem.description)
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
    }

    private func plan(folder: MigrationFolder, store: SchemaStore, state: SchemaState) async throws -> BaselinePlan {
        let source: BaselinePlan.Source
        if let version {
            source = .version(version)
        } else {
            let tool = ForeignTool(rawValue: from!)!
            source = .history(try await store.foreignHistory(tool, table: historyTable ?? tool.defaultHistoryTable))
        }
        return try BaselinePlan.make(folder: folder, state: state, source: source)
    }
}
