import PQ
import SchemagateCore

/// What `schemagate repair` changed.
public struct RepairReport: Sendable, Equatable {
    public var acceptedChecksums: [Int64] = []
    public var clearedDirty: DirtyMigration?
    public var markedApplied = false
    public var clearedFailure = false
}

extension SchemaStore {
    /// Accepts the folder's checksums for applied versions, clears an interrupted no-transaction
    /// migration's mark (or, with `markApplied`, records it as applied) and clears `last_failure`,
    /// in one fenced transaction, recorded in history as `repair` rows. The caller holds the lock.
    public func repair(folder: MigrationFolder, markApplied: Bool, identity: InstanceIdentity) async throws -> RepairReport {
        try await connection.query("BEGIN")
        do {
            // Fenced like a migration: the version row locked, the lock record still ours.
            let owner = try await connection.query(
                "SELECT (SELECT value->>'owner' FROM \(settings) WHERE key = $2) AS owner FROM \(settings) WHERE key = $1 FOR UPDATE",
                [SettingsKey.schemaVersion, SettingsKey.migrationLock]
            ).first?["owner"]
            guard owner == identity.id else { throw MigrateError.lockLost(by: owner) }
            let plan = try RepairPlan.make(folder: folder, state: try await schemaState(), markApplied: markApplied)
            var report = RepairReport()
            for migration in plan.acceptedChecksums {
                try await insertRepairRow(version: migration.version, name: migration.name, checksum: migration.checksum,
                                          downSQL: migration.downSQL, note: "checksum accepted", identity: identity)
                report.acceptedChecksums.append(migration.version)
            }
            if let dirty = plan.clearedDirty {
                try await connection.query(
                    """
                    UPDATE \(settings) SET value = jsonb_build_object('version', $2::bigint, 'dirty', NULL,
                      'updated_at', extract(epoch FROM now())::float8, 'instance', $3::text)
                    WHERE key = $1
                    """,
                    [SettingsKey.schemaVersion, String(plan.resultingVersion), identity.id]
                )
                if plan.marksApplied {
                    try await insertRepairRow(version: dirty.version, name: dirty.name, checksum: dirty.checksum,
                                              downSQL: dirty.downSQL, note: "interrupted migration marked applied", identity: identity)
                }
                report.clearedDirty = dirty
                report.markedApplied = plan.marksApplied
            }
            report.clearedFailure = try await connection.query(
                "DELETE FROM \(settings) WHERE key = $1 RETURNING 1", [SettingsKey.lastFailure]
            ).affectedRows > 0
            try await connection.query("COMMIT")
            return report
        } catch {
            try? await connection.query("ROLLBACK")
            throw error
        }
    }

    private func insertRepairRow(version: Int64, name: String, checksum: String, downSQL: String?, note: String, identity: InstanceIdentity) async throws {
        try await connection.query(
            """
            INSERT INTO \(history) (version, name, checksum, direction, host, pid, instance, started_at, duration_ms, success, error, down_sql, settings_table)
            VALUES ($1::bigint, $2, $3, 'repair', $4, $5::int, $6, now(), 0, true, $7, $8, $9)
            """,
            [String(version), name, checksum, identity.host, String(identity.pid), identity.id, note, downSQL, settings]
        )
    }
}
