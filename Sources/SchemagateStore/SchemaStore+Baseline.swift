import PQ
import SchemagateCore

extension SchemaStore {
    /// Reads another tool's history table (`table`, resolved through the search path as that
    /// tool would) into what it says was applied. Only reads.
    public func foreignHistory(_ tool: ForeignTool, table: String) async throws -> ForeignHistory {
        guard let name = try await connection.query("SELECT to_regclass($1)::text AS name", [table]).first?["name"] else {
            throw BaselineProblem.noHistoryTable(tool: tool, table: table)
        }
        // `name` is the server's own rendering of an existing relation, quoted where needed.
        do {
            switch tool {
            case .golangMigrate:
                let rows = try await connection.query("SELECT version::text AS version, dirty FROM \(name)").rows
                return .golangMigrate(table: name, rows: rows.map { (Int64($0["version"] ?? "") ?? 0, $0.bool("dirty") ?? false) })
            case .dbmate, .morph:
                // golang-migrate's table has the same name as dbmate's and one row: read as
                // dbmate's, it would look like a history with gaps.
                if try await connection.query(
                    "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'dirty' AND NOT attisdropped) AS found", [name]
                ).first?.bool("found") == true {
                    throw BaselineProblem.foreignState("\(name) has golang-migrate's dirty column, so it is not \(tool.rawValue)'s history table; use --from golang-migrate")
                }
                let rows = try await connection.query("SELECT version::text AS version FROM \(name)").rows
                return .perVersion(tool, table: name, versions: rows.map { $0["version"] ?? "" })
            case .goose:
                let rows = try await connection.query("SELECT id::text AS id, version_id::text AS version, is_applied FROM \(name)").rows
                return .goose(table: name, rows: rows.map { (Int64($0["id"] ?? "") ?? 0, Int64($0["version"] ?? "") ?? 0, $0.bool("is_applied") ?? false) })
            case .flyway:
                let rows = try await connection.query(
                    "SELECT version, type, script, success FROM \(name) ORDER BY installed_rank"
                ).rows
                return .flyway(table: name, rows: rows.map { ($0["version"], $0["type"] ?? "", $0["script"] ?? "", $0.bool("success") ?? false) })
            }
        } catch let error as PQError where error.sqlState == .undefinedColumn {
            throw BaselineProblem.foreignState("\(name) is not \(tool.rawValue)'s history table (\(error.message)); check --from and --history-table")
        }
    }

    /// Records `plan` in one fenced transaction: the version row must still be at 0 and the lock
    /// ours. One `baseline` history row per recorded version, then the version moves and waiters
    /// are woken. Nothing of the migrations runs. The caller holds the lock.
    public func recordBaseline(_ plan: BaselinePlan, identity: InstanceIdentity) async throws -> ApplyOutcome {
        do {
            if let refusal = try await beginFenced(expectedVersion: 0, dirty: nil, identity: identity) {
                return refusal
            }
            try await allowBaselineRows()
            for migration in plan.recorded.dropLast() {
                try await connection.query(
                    """
                    INSERT INTO \(history) (version, name, checksum, direction, host, pid, instance, started_at, duration_ms, success, down_sql, settings_table)
                    VALUES ($1::bigint, $2, $3, 'baseline', $4, $5::int, $6, now(), 0, true, $7, $8)
                    """,
                    [String(migration.version), migration.name, migration.checksum, identity.host, String(identity.pid),
                     identity.id, migration.downSQL, settings]
                )
            }
            let last = plan.recorded.last!
            try await connection.pipeline([
                recordingMove(to: plan.version, version: last.version, name: last.name, checksum: last.checksum, direction: "baseline",
                              downSQL: last.downSQL, identity: identity, durationMilliseconds: 0),
                ("COMMIT", []),
            ])
            return .applied(durationMilliseconds: 0)
        } catch {
            try? await connection.query("ROLLBACK")
            throw error
        }
    }

    /// A history table created before `baseline` rows existed has a CHECK that refuses them;
    /// widened once, inside the caller's transaction.
    private func allowBaselineRows() async throws {
        let allowed = try await connection.query(
            """
            SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c'
                               AND pg_get_constraintdef(oid) LIKE '%direction%' AND pg_get_constraintdef(oid) NOT LIKE '%baseline%') AS ok
            """,
            [history]
        ).first?.bool("ok") ?? false
        guard !allowed else { return }
        try await connection.query(
            """
            ALTER TABLE \(history) DROP CONSTRAINT IF EXISTS schemagate_history_direction_check,
              ADD CONSTRAINT schemagate_history_direction_check CHECK (direction IN ('up', 'down', 'repair', 'baseline'))
            """
        )
    }
}
