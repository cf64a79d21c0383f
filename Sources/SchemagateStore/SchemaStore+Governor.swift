import PQ
import SchemagateCore

extension SchemaStore {
    /// The server backend serving this session now. Through a pooler libpq's `PQbackendPID`
    /// names the pooler's fake id; `pg_backend_pid()` names the backend that really runs our
    /// statements (inside a transaction, the one of that transaction).
    public func serverBackendPID() async throws -> Int32 {
        guard let pid = try await connection.query("SELECT pg_backend_pid() AS pid").first?.int("pid") else {
            throw PQError(kind: .server, message: "pg_backend_pid() returned nothing")
        }
        return Int32(pid)
    }

    /// One look at the locks around `backend`, from another session: who waits behind it (their
    /// `pg_blocking_pids()` name it) and for how long, and whom it waits for. `pg_locks` is
    /// visible to every role; the holder's state and query need `pg_read_all_stats` for another
    /// role's sessions and are blank without it.
    public func look(at backend: Int32) async throws -> WatchLook {
        // waitstart and pg_stat_progress_copy are PostgreSQL 14+; before that the watcher's own
        // first sighting counts, and COPY shows no percentage.
        let modern = connection.serverVersion >= 140000
        let waitStart = modern ? "waitstart" : "NULL::timestamptz"
        let copy = modern ? """
              UNION ALL
              SELECT command, type, CASE WHEN bytes_total > 0 THEN 100.0 * bytes_processed / bytes_total END
              FROM pg_stat_progress_copy WHERE pid = $1::int
            """ : ""
        let row = try await connection.query(
            """
            WITH waiting AS (
              SELECT pid, min(\(waitStart)) AS since FROM pg_locks
              WHERE NOT granted AND pid <> pg_backend_pid() AND pid <> $1::int
              GROUP BY pid
            ), blocked AS (
              SELECT pid, coalesce(extract(epoch FROM clock_timestamp() - since)::float8, 0) AS waited
              FROM waiting WHERE $1::int = ANY (pg_blocking_pids(pid))
            ), holder AS (
              -- Of the sessions ahead of us, the oldest transaction: the long one, not a short
              -- write that happened to be in the queue too.
              SELECT h.pid, a.application_name, a.state, a.query,
                     extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS xact_age
              FROM unnest(pg_blocking_pids($1::int)) AS h(pid) LEFT JOIN pg_stat_activity a ON a.pid = h.pid
              ORDER BY a.xact_start NULLS LAST LIMIT 1
            ), progress AS (
              SELECT command, phase, CASE WHEN blocks_total > 0 THEN 100.0 * blocks_done / blocks_total
                                          WHEN tuples_total > 0 THEN 100.0 * tuples_done / tuples_total END AS percent
              FROM pg_stat_progress_create_index WHERE pid = $1::int
              UNION ALL
              SELECT command, phase, CASE WHEN heap_blks_total > 0 THEN 100.0 * heap_blks_scanned / heap_blks_total END
              FROM pg_stat_progress_cluster WHERE pid = $1::int
              \(copy)
            )
            SELECT (SELECT coalesce(string_agg(pid || ':' || waited, ','), '') FROM blocked) AS blocked,
                   (SELECT l.relation::regclass::text FROM pg_locks l
                    WHERE l.pid = $1::int AND NOT l.granted AND l.relation IS NOT NULL
                      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    LIMIT 1) AS relation,
                   h.pid AS holder_pid, h.application_name, h.state, h.xact_age, h.query,
                   p.command, p.phase, p.percent::float8 AS percent,
                   (SELECT extract(epoch FROM clock_timestamp() - query_start)::float8 FROM pg_stat_activity WHERE pid = $1::int) AS elapsed
            FROM (SELECT 1) AS one LEFT JOIN holder h ON true LEFT JOIN (SELECT * FROM progress LIMIT 1) p ON true
            """,
            [String(backend)]
        ).first
        guard let row else { return WatchLook(sample: GovernorSample(blocked: [])) }
        let blocked = (row["blocked"] ?? "").split(separator: ",").compactMap { entry -> BlockedSession? in
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let pid = Int32(parts[0]), let seconds = Double(parts[1]) else { return nil }
            return BlockedSession(pid: pid, waited: .seconds(seconds))
        }
        let holder = row.int("holder_pid").map { pid in
            LockHolder(pid: Int32(pid), applicationName: row["application_name"] ?? "", state: row["state"] ?? "",
                       transactionAge: row.double("xact_age").map { .seconds($0) }, query: row["query"] ?? "")
        }
        return WatchLook(
            sample: GovernorSample(blocked: blocked, waitingFor: holder, waitingOn: holder == nil ? nil : row["relation"]),
            command: row["command"], phase: row["phase"], percent: row.double("percent"), elapsedSeconds: row.double("elapsed"))
    }

    /// Drops the INVALID index a cancelled `CREATE INDEX CONCURRENTLY` left behind, and only
    /// while it is invalid: a valid index of the same name is someone's work and stays. Returns
    /// the name of the index dropped.
    public func dropInvalidIndex(_ statement: ConcurrentIndexStatement) async throws -> String? {
        let found = try await connection.query(
            """
            SELECT format('%I.%I', n.nspname, c.relname) AS name
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT i.indisvalid AND i.indrelid = to_regclass($1) AND c.relname = $2
            """,
            [statement.table, statement.indexName]
        ).first?["name"]
        guard let found else { return nil }
        try await connection.execute("DROP INDEX CONCURRENTLY IF EXISTS \(found)")
        return found
    }
}
