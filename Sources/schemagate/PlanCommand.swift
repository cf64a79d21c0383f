import ArgumentParser
import FoundationEssentials
import Glibc
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
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let data = try encoder.encode(PlanJSON(plan: plan, state: state))
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

/// `plan --json`: every key always present, `dirty` as null when the schema is clean.
private struct PlanJSON: Encodable {
    struct Dirty: Encodable { let version: Int64; let name: String }
    struct Pending: Encodable { let version: Int64; let name: String; let file: String; let transactional: Bool }

    let current: Int64
    let target: Int64
    let ahead: Bool
    let dirty: Dirty?
    let pending: [Pending]

    init(plan: MigrationPlan, state: SchemaState) {
        current = plan.current
        target = plan.target
        ahead = plan.isAhead
        dirty = state.dirty.map { Dirty(version: $0.version, name: $0.name) }
        pending = plan.pending.map { Pending(version: $0.version, name: $0.name, file: $0.upFile, transactional: $0.transactional) }
    }

    enum CodingKeys: String, CodingKey {
        case current = "current_version", target = "target_version", ahead, dirty, pending
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(current, forKey: .current)
        try container.encode(target, forKey: .target)
        try container.encode(ahead, forKey: .ahead)
        try container.encode(dirty, forKey: .dirty)
        try container.encode(pending, forKey: .pending)
    }
}
