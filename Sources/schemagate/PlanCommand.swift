import ArgumentParser
import Foundation
import SchemagateCore
import SchemagateStore

/// `schemagate plan`: database version, target and pending migrations. Changes nothing.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show the database's version, the target and the pending migrations; change nothing."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var folder: FolderOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let migrations = try folder.load()
        let target = try folder.targetVersion()
        let store = try await database.openStore()
        defer { store.connection.close() }
        let state: SchemaState
        do {
            state = try await store.readStateIfPresent()
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
        let plan: MigrationPlan
        do {
            plan = try MigrationPlan.make(folder: migrations, state: state, target: target)
        } catch {
            throw CommandFailure(error.exitCode, error.description)
        }
        if json {
            let object: [String: Any] = [
                "current_version": plan.current, "target_version": plan.target, "ahead": plan.isAhead,
                "dirty": state.dirty.map { ["version": $0.version, "name": $0.name] as [String: Any] } ?? NSNull(),
                "pending": plan.pending.map { ["version": $0.version, "name": $0.name, "file": $0.upFile, "transactional": $0.transactional] as [String: Any] },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("database: \(store.connection.parameterStatus("server_version").map { "PostgreSQL \($0), " } ?? "")schema at version \(plan.current)")
        print("target:   \(plan.target)\(plan.isAhead ? " (the database is ahead: nothing to apply)" : "")")
        if let dirty = plan.recovery {
            print("dirty:    \(dirty.version) \(MigrationTitle.shown(dirty.name)) was interrupted; its down SQL runs first")
        }
        if plan.pending.isEmpty {
            print("pending:  none")
        } else {
            print("pending:  \(plan.pending.count)")
            for migration in plan.pending {
                print("  \(migration.label)\(migration.transactional ? "" : "  (no-transaction)")\(migration.downSQL == nil ? "  (no down file)" : "")")
            }
        }
    }
}
