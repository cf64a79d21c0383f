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
    @OptionGroup var targetOption: TargetOption
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let migrations = try folder.load()
        let target = try targetOption.targetVersion()
        let store = try await database.openStore()
        defer { store.connection.close() }
        let state: SchemaState
        let lock: LockView
        let fleet: FleetView?
        do {
            state = try await store.readStateIfPresent()
            lock = try await Self.lockView(store)
            fleet = try await store.fleetTableExists() ? try await store.fleetView(beat: nil) : nil
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
            try printJSON(PlanJSON(plan: plan, state: state, lock: lock))
            return
        }
        print("database: \(store.connection.parameterStatus("server_version").map { "PostgreSQL \($0), " } ?? "")schema at version \(plan.current)")
        print("target:   \(plan.target)\(plan.isAhead ? " (the database is ahead: nothing to apply)" : "")")
        if let dirty = plan.recovery {
            print("dirty:    \(dirty.version) \(MigrationTitle.shown(dirty.name)) was interrupted; its down SQL runs first")
        }
        print("lock:     \(lock.text)")
        if plan.pending.isEmpty {
            print("pending:  none")
        } else {
            print("pending:  \(plan.pending.count)")
            for migration in plan.pending {
                print("  \(migration.label)\(migration.contract ? "  (contract)" : "")\(migration.transactional ? "" : "  (no-transaction)")\(migration.downSQL == nil ? "  (no down file)" : "")")
            }
        }
        // What `migrate` would stop before: contract migrations that live older releases need gone.
        if let fleet {
            let gate = ContractGate(migrations: migrations.migrations, applied: plan.current, target: plan.target,
                                    others: fleet.holdingMembers, appliedContracts: fleet.appliedContracts)
            for wait in gate.waits { print("waits:    \(wait.description)") }
        }
    }
}

/// The lock as `plan` reads it: free, held (and by whom), or a record nobody can read.
enum LockView {
    case free
    case held(LockSummary)
    case unreadable(String)

    var text: String {
        switch self {
        case .free: return "free"
        case .held(let summary): return summary.text
        case .unreadable(let problem): return "unreadable (\(problem)); break it with `schemagate unlock --force`"
        }
    }
}

extension PlanCommand {
    /// Read apart from the plan: a garbage lock record is shown, not a reason to show nothing.
    static func lockView(_ store: SchemaStore) async throws -> LockView {
        guard try await store.tablesExist() else { return .free }
        do {
            return try await LockSummary(store.snapshot()).map(LockView.held) ?? .free
        } catch let problem as StoredRecordProblem where problem.key == "migration_lock" {
            return .unreadable(String(problem.text.prefix(80)))
        }
    }
}

/// `plan --json`: every key always present, `dirty` and `lock` as null when clean and free.
private struct PlanJSON: Encodable {
    struct Dirty: Encodable { let version: Int64; let name: String }
    struct Pending: Encodable { let version: Int64; let name: String; let file: String; let transactional: Bool }

    let current: Int64
    let target: Int64
    let ahead: Bool
    let dirty: Dirty?
    let pending: [Pending]
    let lock: LockSummary?

    init(plan: MigrationPlan, state: SchemaState, lock: LockView) {
        current = plan.current
        target = plan.target
        ahead = plan.isAhead
        dirty = state.dirty.map { Dirty(version: $0.version, name: $0.name) }
        pending = plan.pending.map { Pending(version: $0.version, name: $0.name, file: $0.upFile, transactional: $0.transactional) }
        if case .held(let summary) = lock { self.lock = summary } else { self.lock = nil }
    }

    enum CodingKeys: String, CodingKey {
        case current = "current_version", target = "target_version", ahead, dirty, pending, lock
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(current, forKey: .current)
        try container.encode(target, forKey: .target)
        try container.encode(ahead, forKey: .ahead)
        try container.encode(dirty, forKey: .dirty)
        try container.encode(pending, forKey: .pending)
        try container.encode(lock, forKey: .lock)
    }
}
