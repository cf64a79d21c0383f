import FoundationEssentials
import PQ
import SchemagateCore
import Synchronization

/// The coordination rows (docs/design.md, "The rows") on one connection: the settings table (version, lock, last
/// failure) and the history table. Identifiers are quoted with libpq's own function; every value
/// travels as a query parameter.
public final class SchemaStore: Sendable {
    public let connection: Connection
    public let configuration: StoreConfiguration
    /// `"schema"."settings"`, quoted.
    let settings: String
    /// `"schema"."schemagate_history"`, quoted.
    let history: String
    /// `"schema"."schemagate_fleet"`, quoted.
    let fleet: String
    let schema: String
    /// See `PreparedRecording`: set up by `prepareStatements()` on a direct session.
    let preparedRecording = Mutex(PreparedRecording())

    public init(connection: Connection, configuration: StoreConfiguration) {
        self.connection = connection
        self.configuration = configuration
        schema = connection.escapeIdentifier(configuration.schema)
        settings = schema + "." + connection.escapeIdentifier(configuration.settingsTable)
        history = schema + "." + connection.escapeIdentifier(configuration.historyTable)
        fleet = schema + "." + connection.escapeIdentifier(configuration.fleetTable)
    }

    /// Creates the schema, both tables and the version row when missing. Many instances may start
    /// at the same instant, so creation is serialized by a transaction-scoped advisory lock (which
    /// also works through PgBouncer's transaction pooling) and a collision is retried.
    public func bootstrap() async throws {
        try await ensureTables()
        try await ensureVersionRow()
    }

    /// Creates the schema and the tables when missing (one statement when they exist).
    public func ensureTables() async throws {
        let existing = try await connection.query(
            """
            SELECT to_regclass($1) IS NOT NULL AS settings, to_regclass($2) IS NOT NULL AS history,
                   to_regclass($3) IS NOT NULL AS fleet,
                   (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($2)
                    AND attname IN ('settings_table', 'contract') AND NOT attisdropped) = 2 AS scoped
            """,
            [settings, history, fleet]
        )
        let row = existing.first
        if row?.bool("settings") != true || row?.bool("history") != true || row?.bool("fleet") != true || row?.bool("scoped") != true {
            try await createTables()
        }
    }

    /// Adds the version row (version 0) when missing. Reading does not need it (no row reads as
    /// version 0); locking and moving the version do.
    public func ensureVersionRow() async throws {
        try await connection.query(
            """
            INSERT INTO \(settings) (key, value)
            VALUES ($1, jsonb_build_object('version', 0, 'dirty', NULL))
            ON CONFLICT (key) DO NOTHING
            """,
            [SettingsKey.schemaVersion]
        )
    }

    private func createTables() async throws {
        for attempt in 1...5 {
            do {
                try await connection.query("BEGIN")
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext('schemagate.bootstrap'))")
                let schemaExists = try await connection.query(
                    "SELECT to_regnamespace($1) IS NOT NULL AS present", [schema]
                ).first?.bool("present") ?? false
                if !schemaExists {
                    try await connection.query("CREATE SCHEMA IF NOT EXISTS \(schema)")
                }
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS \(settings) (key text PRIMARY KEY, value jsonb NOT NULL)"
                )
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS \(history) (
                        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        version bigint NOT NULL,
                        name text NOT NULL,
                        checksum text NOT NULL,
                        direction text NOT NULL CHECK (direction IN ('up', 'down', 'repair', 'baseline')),
                        host text NOT NULL,
                        pid integer NOT NULL,
                        instance text NOT NULL,
                        started_at timestamptz NOT NULL,
                        duration_ms double precision NOT NULL,
                        success boolean NOT NULL,
                        error text,
                        down_sql text,
                        settings_table text
                    )
                    """
                )
                // Applications that share a schema (each with its own settings table) share the
                // history table: every row belongs to the settings table it was recorded under.
                // Rows from before that column belong to the first instance that adds it.
                try await connection.query("ALTER TABLE \(history) ADD COLUMN IF NOT EXISTS settings_table text")
                try await connection.query("UPDATE \(history) SET settings_table = $1 WHERE settings_table IS NULL", [settings])
                // Contract migrations are known by history, not by the folder: an older release's
                // folder does not have the contract migrations that make it incompatible.
                try await connection.query("ALTER TABLE \(history) ADD COLUMN IF NOT EXISTS contract boolean NOT NULL DEFAULT false")
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS \(fleet) (
                        settings_table text NOT NULL,
                        instance text NOT NULL,
                        host text NOT NULL,
                        pid integer NOT NULL,
                        unit text NOT NULL,
                        release text NOT NULL,
                        target bigint NOT NULL,
                        state text NOT NULL,
                        heartbeat_at timestamptz NOT NULL,
                        expires_at timestamptz NOT NULL,
                        registered_at timestamptz NOT NULL,
                        PRIMARY KEY (settings_table, instance)
                    )
                    """
                )
                try await connection.query("COMMIT")
                return
            } catch let error as PQError where attempt < 5 && error.kind == .server &&
                [.uniqueViolation, .duplicateTable, .duplicateSchema, .duplicateObject].contains(error.sqlState) {
                try? await connection.query("ROLLBACK")
            } catch {
                try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    /// Version, lock, last failure, the database clock and whether the holder's session is alive,
    /// in one statement: a waiter's whole poll.
    public func snapshot() async throws -> LockSnapshot {
        let row = try await connection.query(
            """
            SELECT
              (SELECT value::text FROM \(settings) WHERE key = $1) AS version,
              l.value::text AS lock,
              (SELECT value::text FROM \(settings) WHERE key = $3) AS failure,
              extract(epoch FROM now())::float8 AS now,
              CASE WHEN (l.value->>'session_visible')::boolean THEN EXISTS (
                SELECT 1 FROM pg_stat_activity a
                WHERE a.pid = (l.value->>'backend_pid')::int
                  AND (a.backend_start IS NULL
                       OR extract(epoch FROM a.backend_start) = (l.value->>'backend_start')::numeric)
              ) END AS holder_alive
            FROM (SELECT 1) AS one LEFT JOIN \(settings) l ON l.key = $2
            """,
            [SettingsKey.schemaVersion, SettingsKey.migrationLock, SettingsKey.lastFailure]
        ).first!
        return LockSnapshot(
            version: try row["version"].map(decodeVersion)?.version ?? 0,
            lock: try row["lock"].map { try decodeStored(LockRecord.self, key: SettingsKey.migrationLock, table: settings, from: $0) },
            holderSessionAlive: row.bool("holder_alive"),
            lastFailure: try row["failure"].map { try decodeStored(FailureRecord.self, key: SettingsKey.lastFailure, table: settings, from: $0) },
            now: row.double("now") ?? 0
        )
    }

    /// The version record and the checksums of applied migrations (re-read after taking the lock),
    /// in one statement: the record comes on every row, and alone on one row when nothing was applied.
    public func schemaState() async throws -> SchemaState {
        let rows = try await connection.query(
            """
            SELECT v.record, h.version, h.name, h.checksum, h.direction, h.down_sql
            FROM (SELECT (SELECT value::text FROM \(settings) WHERE key = $1) AS record) AS v
            LEFT JOIN LATERAL (
              SELECT DISTINCT ON (version) version, name, checksum, direction, down_sql
              FROM \(history) WHERE success AND settings_table = $2
              ORDER BY version, id DESC
            ) AS h ON true
            """,
            [SettingsKey.schemaVersion, settings]
        ).rows
        let record = try rows.first?["record"].map(decodeVersion) ?? VersionRecord(version: 0, dirty: nil)
        var applied: [Int64: AppliedMigration] = [:]
        for row in rows where row["direction"] != "down" {
            guard let version = row["version"].flatMap({ Int64($0) }), version <= record.version else { continue }
            applied[version] = AppliedMigration(
                version: version, name: row["name"] ?? "", checksum: row["checksum"] ?? "", downSQL: row["down_sql"]
            )
        }
        return SchemaState(version: record.version, dirty: record.dirty, applied: applied)
    }

    /// Takes the lock when it is free (`replacing` nil) or replaces `replacing` when that holder is
    /// still stale at this instant (lease expired or session gone). True when the lock is ours.
    public func acquireLock(for identity: InstanceIdentity, replacing: String?, sessionVisible: Bool) async throws -> Bool {
        let result = try await connection.query(
            """
            INSERT INTO \(settings) AS s (key, value)
            SELECT $1, jsonb_build_object(
              'owner', $2::text, 'host', $3::text, 'pid', $4::int,
              'taken_at', extract(epoch FROM now())::float8,
              'expires_at', extract(epoch FROM now() + $5::bigint * interval '1 millisecond')::float8,
              'backend_pid', pg_backend_pid(),
              'backend_start', (SELECT extract(epoch FROM backend_start) FROM pg_stat_activity WHERE pid = pg_backend_pid()),
              'session_visible', $6::boolean)
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            WHERE s.value->>'owner' = $7::text AND (
              (s.value->>'expires_at')::float8 < extract(epoch FROM now())::float8
              OR ((s.value->>'session_visible')::boolean AND NOT EXISTS (
                SELECT 1 FROM pg_stat_activity a
                WHERE a.pid = (s.value->>'backend_pid')::int
                  AND (a.backend_start IS NULL
                       OR extract(epoch FROM a.backend_start) = (s.value->>'backend_start')::numeric))))
            RETURNING 1
            """,
            [SettingsKey.migrationLock, identity.id, identity.host, String(identity.pid),
             String(configuration.lease.milliseconds), sessionVisible ? "true" : "false", replacing]
        )
        return !result.isEmpty
    }

    /// Ends backend `pid` if it is still the session that started at `startedAt`, and waits (up
    /// to 5 s) until it is gone. False when there was no such session.
    public func terminateSession(pid: Int32, startedAt: Double?) async throws -> Bool {
        let row = try await connection.query(
            """
            SELECT pg_terminate_backend(pid, 5000) AS ended FROM pg_stat_activity
            WHERE pid = $1::int AND pid <> pg_backend_pid()
              AND ($2::float8 IS NULL OR abs(extract(epoch FROM backend_start)::float8 - $2::float8) < 0.001)
            """,
            [String(pid), startedAt.map { String($0) }]
        ).first
        return row?.bool("ended") == true
    }

    /// Takes the lock for an operator command, waiting up to `lockWait` for a live holder and
    /// replacing a stale one, as `migrate` would. Nil when the lock is ours; else the holder that
    /// kept it the whole time.
    public func acquireWaiting(for identity: InstanceIdentity, lockWait: Duration) async throws -> LockRecord? {
        let deadline = ContinuousClock.now + lockWait
        var replacing: String?
        while true {
            if try await acquireLock(for: identity, replacing: replacing, sessionVisible: false) { return nil }
            let snapshot = try await snapshot()
            guard let holder = snapshot.lock else { replacing = nil; continue }
            if snapshot.lockIsStale { replacing = holder.owner; continue }
            if ContinuousClock.now >= deadline { return holder }
            replacing = nil
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Extends our lease. False when the record is no longer ours.
    public func renewLock(owner: String) async throws -> Bool {
        let result = try await connection.query(
            """
            UPDATE \(settings)
            SET value = jsonb_set(value, '{expires_at}',
                  to_jsonb(extract(epoch FROM now() + $3::bigint * interval '1 millisecond')::float8))
            WHERE key = $1 AND value->>'owner' = $2
            """,
            [SettingsKey.migrationLock, owner, String(configuration.lease.milliseconds)]
        )
        return result.affectedRows == 1
    }

    public enum ReleaseOutcome: Sendable, Equatable {
        case released
        /// The record was not ours any more (nil: there was none).
        case notOwner(currentOwner: LockRecord?)
    }

    /// Deletes the lock record if it is still ours, and says so when it was not.
    public func releaseLock(owner: String) async throws -> ReleaseOutcome {
        let deleted = try await connection.query(
            "DELETE FROM \(settings) WHERE key = $1 AND value->>'owner' = $2 RETURNING 1",
            [SettingsKey.migrationLock, owner]
        )
        if !deleted.isEmpty {
            try await connection.query("SELECT pg_notify($1, $2 || ':released')", [versionChannel, settings])
            return .released
        }
        return .notOwner(currentOwner: try await snapshot().lock)
    }

    /// Deletes whatever lock record there is (`schemagate unlock`). Returns the record removed.
    public func breakLock(expectedOwner: String?) async throws -> LockRecord? {
        let removed = try await connection.query(
            """
            DELETE FROM \(settings) WHERE key = $1 AND ($2::text IS NULL OR value->>'owner' = $2)
            RETURNING value::text AS value
            """,
            [SettingsKey.migrationLock, expectedOwner]
        ).first?["value"]
        // Whatever the record held: breaking a lock must work on one that cannot be read.
        return removed.map { (try? decodeStored(LockRecord.self, key: SettingsKey.migrationLock, table: settings, from: $0))
            ?? LockRecord(owner: "unreadable record", host: "?", pid: 0, takenAt: 0, expiresAt: 0, backendPID: nil, sessionVisible: false) }
    }

    /// Every history row, oldest first.
    public func historyEntries() async throws -> [HistoryEntry] {
        try await ensureTables()
        return try await connection.query(
            """
            SELECT version, name, checksum, direction, host, pid, instance,
                   to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at,
                   duration_ms, success, error, down_sql IS NOT NULL AS has_down
            FROM \(history) WHERE settings_table = $1 ORDER BY id
            """,
            [settings]
        ).rows.map(HistoryEntry.init(row:))
    }
}

/// The `schema_version` value: `{"version": 3, "dirty": null | {...}}`.
struct VersionRecord: Codable, Equatable {
    var version: Int64
    var dirty: DirtyMigration?

}

extension SchemaStore {
    func decodeVersion(_ text: String) throws -> VersionRecord {
        try decodeStored(VersionRecord.self, key: SettingsKey.schemaVersion, table: settings, from: text)
    }
}

extension SchemaStore {
    /// Points our lock record at this connection's session (after taking it, or after a
    /// reconnect) and refreshes the lease. False when the record is not ours.
    public func adoptLock(owner: String, sessionVisible: Bool) async throws -> Bool {
        try await connection.query(
            """
            UPDATE \(settings)
            SET value = value || jsonb_build_object(
                  'backend_pid', pg_backend_pid(),
                  'backend_start', (SELECT extract(epoch FROM backend_start) FROM pg_stat_activity WHERE pid = pg_backend_pid()),
                  'session_visible', $3::boolean,
                  'expires_at', extract(epoch FROM now() + $4::bigint * interval '1 millisecond')::float8)
            WHERE key = $1 AND value->>'owner' = $2
            """,
            [SettingsKey.migrationLock, owner, sessionVisible ? "true" : "false", String(configuration.lease.milliseconds)]
        ).affectedRows == 1
    }
}

extension SchemaStore {
    /// The version a NOTIFY payload announces for this settings table (`"schema"."table":42`),
    /// or nil for another table's, a release, or anything else. The payload is sent inside the
    /// committing transaction, so the version it names is committed.
    public func announcedVersion(in payload: String) -> Int64? {
        guard payload.hasPrefix(settings + ":") else { return nil }
        return Int64(payload.dropFirst(settings.count + 1))
    }

    /// Whether both tables exist (read-only commands change nothing, so they do not create them).
    public func tablesExist() async throws -> Bool {
        let row = try await connection.query(
            "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS present", [settings, history]
        ).first
        return row?.bool("present") ?? false
    }

    /// The state, or version 0 with no history when schemagate has never run here.
    public func readStateIfPresent() async throws -> SchemaState {
        guard try await tablesExist() else { return SchemaState(version: 0) }
        // History from before rows were scoped to their settings table gets its column first.
        try await ensureTables()
        return try await schemaState()
    }
}
