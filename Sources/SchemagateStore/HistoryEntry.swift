import PQ

/// One row of `schemagate_history`: a migration applied, rolled back or repaired.
public struct HistoryEntry: Sendable, Equatable, Codable {
    public var version: Int64
    public var name: String
    public var checksum: String
    public var direction: String
    public var host: String
    public var pid: Int32
    public var instance: String
    public var startedAt: String
    public var durationMilliseconds: Double
    public var success: Bool
    public var error: String?
    public var hasDownSQL: Bool

    init(row: QueryResult.Row) {
        version = row["version"].flatMap { Int64($0) } ?? 0
        name = row["name"] ?? ""
        checksum = row["checksum"] ?? ""
        direction = row["direction"] ?? ""
        host = row["host"] ?? ""
        pid = row["pid"].flatMap { Int32($0) } ?? 0
        instance = row["instance"] ?? ""
        startedAt = row["started_at"] ?? ""
        durationMilliseconds = row.double("duration_ms") ?? 0
        success = row.bool("success") ?? false
        error = row["error"]
        hasDownSQL = row.bool("has_down") ?? false
    }

    enum CodingKeys: String, CodingKey {
        case version, name, checksum, direction, host, pid, instance, success, error
        case startedAt = "started_at"
        case durationMilliseconds = "duration_ms"
        case hasDownSQL = "has_down_sql"
    }
}
