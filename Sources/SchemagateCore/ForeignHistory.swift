/// What another tool's history table says was applied, read from its rows (the store runs the
/// query; the rules of each tool are here). `refusal` names a dirty or failed state, which no
/// baseline may paper over.
public struct ForeignHistory: Sendable, Equatable {
    public var tool: ForeignTool
    /// The table as the server names it.
    public var table: String
    /// Every version at or below this counts as applied (golang-migrate's one version, a Flyway
    /// BASELINE row).
    public var upTo: Int64?
    /// Versions recorded one by one.
    public var versions: Set<Int64>
    /// A dirty or failed state, in words that say what to do.
    public var refusal: String?

    public init(tool: ForeignTool, table: String, upTo: Int64? = nil, versions: Set<Int64> = [], refusal: String? = nil) {
        self.tool = tool
        self.table = table
        self.upTo = upTo
        self.versions = versions
        self.refusal = refusal
    }

    /// golang-migrate keeps one row, `(version bigint, dirty boolean)`: the last version run, and
    /// whether it failed half-way.
    public static func golangMigrate(table: String, rows: [(version: Int64, dirty: Bool)]) -> ForeignHistory {
        var history = ForeignHistory(tool: .golangMigrate, table: table)
        guard let row = rows.max(by: { $0.version < $1.version }) else { return history }
        if row.dirty {
            history.refusal = "golang-migrate marks version \(row.version) dirty in \(table): it failed half-way; check what it did, fix the database, run `migrate force \(row.version)` (or the version before it) with golang-migrate, then baseline"
        } else if row.version > 0 {
            history.upTo = row.version
        }
        return history
    }

    /// dbmate and morph keep one row per applied version (`schema_migrations(version)`,
    /// `db_migrations(version, name)`); a row is written only when its migration committed.
    public static func perVersion(_ tool: ForeignTool, table: String, versions: [String]) -> ForeignHistory {
        var history = ForeignHistory(tool: tool, table: table)
        for text in versions {
            guard let version = Int64(text), version > 0 else {
                history.refusal = "\(tool.rawValue)'s \(table) records version '\(text)', which is not a positive whole number; fix that row, or baseline with --version N"
                return history
            }
            history.versions.insert(version)
        }
        return history
    }

    /// goose keeps a log, `goose_db_version(id, version_id, is_applied, tstamp)`: a version's
    /// latest row (highest id) says whether it is applied; version 0 is goose's own first row.
    public static func goose(table: String, rows: [(id: Int64, version: Int64, applied: Bool)]) -> ForeignHistory {
        var latest: [Int64: (id: Int64, applied: Bool)] = [:]
        for row in rows where row.version != 0 && (latest[row.version].map { $0.id < row.id } ?? true) {
            latest[row.version] = (row.id, row.applied)
        }
        return ForeignHistory(tool: .goose, table: table, versions: Set(latest.filter { $0.value.applied }.keys))
    }

    /// Flyway's `flyway_schema_history`, in `installed_rank` order: a failed row (`success` false)
    /// refuses; `BASELINE` counts every version up to its own; `UNDO_SQL` and `DELETE` rows take a
    /// version back out; rows without a version (repeatables, the schema marker) do not count.
    public static func flyway(table: String, rows: [(version: String?, type: String, script: String, success: Bool)]) -> ForeignHistory {
        var history = ForeignHistory(tool: .flyway, table: table)
        for row in rows {
            guard let text = row.version else { continue }
            guard row.success else {
                history.refusal = "Flyway records version \(text) (\(row.script)) as failed in \(table); fix the database, run `flyway repair`, then baseline"
                return history
            }
            guard let version = Int64(text) else {
                history.refusal = "Flyway's \(table) records version \(text), which is not a whole number; schemagate cannot take over dotted versions (import refuses them too)"
                return history
            }
            switch row.type {
            case "BASELINE": history.upTo = max(history.upTo ?? 0, version)
            case let type where type.hasPrefix("UNDO") || type == "DELETE": history.versions.remove(version)
            default: history.versions.insert(version)
            }
        }
        return history
    }
}
