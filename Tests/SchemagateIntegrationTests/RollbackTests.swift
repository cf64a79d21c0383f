import Foundation
import PostgresHarness
import Testing

@Suite("rollback")
struct RollbackTests {
    @Test func rollsBackNewestFirstAndRecordsIt() async throws {
        let database = try await TestDatabase()
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations]).status == 0)
        let result = try await schemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 1)
        #expect(try await database.sql("SELECT to_regclass('orders') IS NULL AND to_regtype('user_status') IS NULL AND to_regclass('users') IS NOT NULL") == "t")
        #expect(try await database.sql("SELECT string_agg(version || ':' || direction, ',' ORDER BY id) FROM schemagate_history WHERE direction = 'down'") == "4:down,3:down,2:down")
        // And forward again.
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations]).status == 0)
        #expect(try await database.version() == 4)
    }

    @Test func anOlderReleaseRollsBackWithTheStoredDownSQL() async throws {
        let database = try await TestDatabase()
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations]).status == 0)
        // The older release's folder knows versions 1 and 2 only.
        let older = try makeFolder([
            "0001_create_users.up.sql": try String(contentsOfFile: exampleMigrations + "/0001_create_users.up.sql", encoding: .utf8),
            "0002_create_orders.up.sql": try String(contentsOfFile: exampleMigrations + "/0002_create_orders.up.sql", encoding: .utf8),
        ])
        let ahead = try await schemagate(["migrate", "--database-url", database.url, "--migrations", older])
        #expect(ahead.status == 0)
        #expect(ahead.stderr.contains("ahead of this release's target"))
        let result = try await schemagate(["rollback", "--to", "2", "--database-url", database.url, "--migrations", older])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT to_regclass('orders_user_id_placed_at_idx') IS NULL") == "t")
    }

    @Test func refusesWhenADownIsMissingAndChangesNothing() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        let before = try await database.fingerprint()
        let result = try await schemagate(["rollback", "--to", "0", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("no down SQL for version 1"))
        #expect(try await database.fingerprint() == before)
        let above = try await schemagate(["rollback", "--to", "5", "--database-url", database.url, "--migrations", folder])
        #expect(above.status == 2)
        #expect(above.stderr.contains("--to 5: the database is at 3"))
    }

    /// A version whose history row is gone is not skipped: rolling back over it is refused,
    /// naming it, and nothing is rolled back.
    @Test func refusesToSkipAVersionWithoutHistory() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 4)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        try await database.sql("DELETE FROM schemagate_history WHERE version = 3")
        let before = try await database.fingerprint()
        let result = try await schemagate(["rollback", "--to", "2", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("version 3 of the folder") && result.stderr.contains("no history row"), "\(result.stderr)")
        #expect(try await database.fingerprint() == before)
        #expect(try await database.sql("SELECT to_regclass('step_3') IS NOT NULL AND to_regclass('step_4') IS NOT NULL") == "t")
    }

    /// A rollback longer than its lease keeps the lock: it renews it, so a `migrate` started
    /// meanwhile waits for it instead of "taking over from a dead holder" mid-rollback.
    @Test func aSlowRollbackKeepsItsLease() async throws {
        let database = try await TestDatabase()
        // The down file waits at a gate the test holds, so the rollback lasts exactly as long as
        // the test needs: past its lease, and past the start of a `migrate`.
        let gate = try await StatusSocketTests.Gate(database)
        let folder = try auditFolder(count: 3, extra: [
            "0002_step_2.down.sql": StatusSocketTests.Gate.sql + "DROP TABLE step_2;\nDELETE FROM audit WHERE version = 2;\n",
        ])
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "2"]).status == 0)
        let lease = ["--lease", "1s"]
        // The gate is a lock wait: --ddl-lock-timeout (lock_timeout) must outlast it.
        let rollback = try startSchemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", folder,
                                            "--ddl-lock-timeout", "5m"] + lease)
        try await waitUntil(seconds: 60) {
            try await database.sql("""
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """) == "1"
        }
        // More than its lease passes inside the down file; then a migrate arrives and waits.
        try await Task.sleep(for: .milliseconds(1500))
        let migrate = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "30s"] + lease)
        try await Task.sleep(for: .milliseconds(1500))
        try await gate.open()
        let rolledBack = await rollback.finished()
        let migrated = await migrate.finished()
        #expect(rolledBack.status == 0, "\(rolledBack.all)")
        #expect(migrated.status == 0, "\(migrated.all)")
        #expect(!migrated.stderr.contains("took over"), "\(migrated.stderr)")
        #expect(try await database.sql("SELECT string_agg(version || ':' || direction, ',' ORDER BY id) FROM schemagate_history WHERE success") == "1:up,2:up,2:down,2:up,3:up")
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2,3")
        #expect(try await database.version() == 3)
    }

    /// SIGKILL of `rollback` inside a no-transaction down file leaves a mark that every command
    /// reports; running the rollback again finishes it.
    @Test func aKilledNoTransactionRollbackIsMarkedAndCanBeFinished() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2, extra: [
            "0002_step_2.up.sql": "-- schemagate: no-transaction\nCREATE TABLE step_2 (id int);\nCREATE INDEX CONCURRENTLY step_2_idx ON step_2 (id);\nINSERT INTO audit (version) VALUES (2);\n",
            "0002_step_2.down.sql": "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS step_2_idx;\nSELECT pg_sleep(20);\nDROP TABLE IF EXISTS step_2;\nDELETE FROM audit WHERE version = 2;\n",
        ])
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        let rollback = try startSchemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", folder])
        // Killed inside the down file: its first statement done, the sleep running.
        // A condition, not a count of tries: on two busy cores the rollback may take long to get
        // there, and a kill before it would test nothing.
        try await waitUntil(seconds: 90) {
            try await database.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(20)%'") == "1"
        }
        rollback.signal(SIGKILL)
        _ = await rollback.finished()
        #expect(try await database.sql("SELECT (value->'dirty'->>'rolling_back')::boolean FROM schemagate_settings WHERE key = 'schema_version'") == "t")
        for command in ["migrate", "plan"] {
            let result = try await schemagate([command, "--database-url", database.url, "--migrations", folder])
            #expect(result.status == 70, "\(command): \(result.all)")
            #expect(result.stderr.contains("a rollback stopped inside the no-transaction down file of version 2"), "\(command): \(result.stderr)")
        }
        // The dead rollback's lease must run out first (15 s by default): take the lock now.
        #expect(try await schemagate(["unlock", "--force", "--database-url", database.url]).status == 0)
        let again = try await schemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", folder])
        #expect(again.status == 0, "\(again.all)")
        #expect(try await database.version() == 1)
        #expect(try await database.sql("SELECT to_regclass('step_2') IS NULL AND (SELECT value->'dirty' = 'null'::jsonb OR value->'dirty' IS NULL FROM schemagate_settings WHERE key = 'schema_version')") == "t")
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        #expect(try await database.version() == 2)
    }

    /// Two applications in one schema, each with its own settings table, share the history
    /// table: neither's rows count for the other, so neither fails the other's checksums, and a
    /// rollback of one never runs the other's down SQL.
    @Test func twoApplicationsSharingASchemaKeepTheirHistoryApart() async throws {
        let database = try await TestDatabase()
        let appA = try makeFolder(["1_a_table.up.sql": "CREATE TABLE a_table (id int);\n", "1_a_table.down.sql": "DROP TABLE a_table;\n"])
        let appB = try makeFolder(["1_b_table.up.sql": "CREATE TABLE b_table (id int);\n", "1_b_table.down.sql": "DROP TABLE b_table;\n"])
        let a = ["--database-url", database.url, "--settings-table", "app_a_settings"]
        let b = ["--database-url", database.url, "--settings-table", "app_b_settings"]
        #expect(try await schemagate(["migrate", "--migrations", appA] + a).status == 0)
        #expect(try await schemagate(["migrate", "--migrations", appB] + b).status == 0)
        let again = try await schemagate(["migrate", "--migrations", appA] + a)
        #expect(again.status == 0, "\(again.all)")
        let rollback = try await schemagate(["rollback", "--to", "0", "--migrations", appA] + a)
        #expect(rollback.status == 0, "\(rollback.all)")
        #expect(try await database.sql("SELECT to_regclass('a_table') IS NULL AND to_regclass('b_table') IS NOT NULL") == "t")
        let history = try await schemagate(["history"] + b)
        #expect(history.status == 0 && history.stdout.contains("b_table") && !history.stdout.contains("a_table"), "\(history.all)")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE settings_table IS NULL") == "0")
    }

    /// A history table from before rows were scoped gets its column on first use; its rows
    /// belong to the settings table that adds it.
    @Test func anUnscopedHistoryTableIsUpgradedInPlace() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"]).status == 0)
        try await database.sql("ALTER TABLE schemagate_history DROP COLUMN settings_table")
        let plan = try await schemagate(["plan", "--database-url", database.url, "--migrations", folder])
        #expect(plan.status == 0, "\(plan.all)")
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        #expect(try await database.sql("SELECT string_agg(DISTINCT settings_table, ',') FROM schemagate_history") == "\"public\".\"schemagate_settings\"")
        #expect(try await database.version() == 2)
    }
}
