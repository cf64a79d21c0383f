import PQ
import SchemagateCore

extension SchemaStore {
    /// The fleet heartbeat and the fleet's read, in one autocommit statement (no session state,
    /// so it works through PgBouncer's transaction pooling): deletes rows whose lease ran out,
    /// upserts our row (when `registration` is given) with the database's `now()` and our own
    /// lease (each row expires by its writer's `--lease`, so instances may differ), and returns
    /// the version, the other live rows and the applied contract migrations. Waiters and ready
    /// daemons send it on the connection they already poll with.
    public func fleetView(beat registration: FleetRegistration?) async throws -> FleetView {
        let lease = String(configuration.lease.milliseconds)
        let rows = try await connection.query(
            """
            WITH previous AS (
              SELECT expires_at >= now() AS live
              FROM \(fleet) WHERE settings_table = $1 AND instance = $3
            ), expired AS (
              DELETE FROM \(fleet)
              WHERE settings_table = $1 AND expires_at < now() AND instance IS DISTINCT FROM $3
            ), beat AS (
              INSERT INTO \(fleet) AS f (settings_table, instance, host, pid, unit, release, target, state,
                                          heartbeat_at, expires_at, registered_at)
              SELECT $1, $3, $4, $5::int, $6, $7, $8::bigint, $9, now(), now() + $2::bigint * interval '1 millisecond', now()
              WHERE $3::text IS NOT NULL
              ON CONFLICT (settings_table, instance) DO UPDATE
              SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at, state = EXCLUDED.state,
                  target = EXCLUDED.target, release = EXCLUDED.release,
                  registered_at = CASE WHEN f.expires_at < now() THEN now() ELSE f.registered_at END
              RETURNING 1
            )
            SELECT 'member' AS kind, instance, host, pid, unit, release, target, state,
                   (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS age_ms, NULL AS name
            FROM \(fleet)
            WHERE settings_table = $1 AND expires_at >= now() AND instance IS DISTINCT FROM $3
            UNION ALL
            SELECT 'contract', NULL, NULL, NULL, NULL, NULL, h.version, NULL, NULL, h.name
            FROM (SELECT DISTINCT ON (version) version, name, direction, contract
                  FROM \(history) WHERE success AND settings_table = $1 ORDER BY version, id DESC) AS h
            WHERE h.contract AND h.direction = 'up'
            UNION ALL
            SELECT 'version', NULL, NULL, NULL, NULL, NULL, (SELECT (value->>'version')::bigint FROM \(settings) WHERE key = $10),
                   NULL, NULL, CASE WHEN $3::text IS NULL OR NOT coalesce((SELECT live FROM previous), false) THEN 'anew' END
            FROM (SELECT count(*) FROM beat) AS written
            """,
            [settings, lease, registration?.identity.id, registration?.identity.host,
             registration.map { String($0.identity.pid) }, registration?.unit, registration?.release,
             registration.map { String($0.target) }, registration?.state, SettingsKey.schemaVersion]
        ).rows
        var view = FleetView(version: 0, members: [], appliedContracts: [], registeredAnew: false)
        for row in rows {
            switch row["kind"] {
            case "member":
                let id = row["instance"] ?? ""
                view.members.append(FleetMember(
                    instanceID: id, host: row["host"] ?? "", pid: Int32(row["pid"] ?? "") ?? 0, release: row["release"] ?? "",
                    target: Int64(row["target"] ?? "") ?? 0, heartbeatAgeMilliseconds: Int64(row["age_ms"] ?? "") ?? 0))
                view.states[id] = row["state"] ?? ""
                view.units[id] = row["unit"] ?? ""
            case "contract":
                if let version = Int64(row["target"] ?? "") {
                    view.appliedContracts.append(.init(version: version, name: row["name"] ?? ""))
                }
            case "version":
                view.version = Int64(row["target"] ?? "") ?? 0
                view.registeredAnew = registration != nil && row["name"] == "anew"
            default:
                break
            }
        }
        view.members.sort { ($0.release, $0.host, $0.pid) < ($1.release, $1.host, $1.pid) }
        return view
    }

    /// A clean stop: our row goes at once, so a contract migration waiting for us runs now.
    public func deregister(instance: String) async throws {
        try await connection.query(
            "DELETE FROM \(fleet) WHERE settings_table = $1 AND instance = $2",
            [settings, instance]
        )
    }

    /// Live instances other than `instance` whose target is below `version` (an incompatible one
    /// is broken already and holds nothing back): the holder checks
    /// this right before a contract migration, so one registered since its plan still holds it back.
    public func contractHolders(below version: Int64, excluding instance: String) async throws -> Int {
        let row = try await connection.query(
            """
            SELECT count(*) AS holders FROM \(fleet)
            WHERE settings_table = $1 AND instance <> $2 AND target < $3::bigint AND expires_at >= now()
              AND state <> 'incompatible'
            """,
            [settings, instance, String(version)]
        ).first
        return Int(row?["holders"] ?? "") ?? 0
    }
}

extension SchemaStore {
    /// Whether the fleet registry exists (read-only commands create nothing).
    public func fleetTableExists() async throws -> Bool {
        try await connection.query("SELECT to_regclass($1) IS NOT NULL AS present", [fleet]).first?.bool("present") ?? false
    }
}
