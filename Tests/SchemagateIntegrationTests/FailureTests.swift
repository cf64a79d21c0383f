import Foundation
import PQ
import PostgresHarness
import Testing

@Suite("failure semantics, unlock and repair")
struct FailureTests {
    @Test func failingNoTransactionMigrationRunsItsDownFile() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1, extra: [
            "0002_index.up.sql": "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY audit_at_idx ON audit (at);\nCREATE INDEX CONCURRENTLY broken_idx ON missing_table (x);\n",
            "0002_index.down.sql": "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS audit_at_idx;\n",
        ])
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 70, "\(result.all)")
        #expect(result.stderr.contains("0002_index.up.sql:3:"), "\(result.stderr)")
        #expect(result.stderr.contains("undone with its down file, schema stays at 1"))
        #expect(try await database.sql("SELECT to_regclass('audit_at_idx') IS NULL") == "t")
        #expect(try await database.sql("SELECT value->>'dirty' IS NULL OR value->'dirty' = 'null'::jsonb FROM schemagate_settings WHERE key = 'schema_version'") == "t")
        #expect(try await database.version() == 1)
        #expect(try await database.sql("SELECT value->>'version' FROM schemagate_settings WHERE key = 'last_failure'") == "2")
    }

    @Test func failingNoTransactionMigrationWithoutDownStaysDirtyUntilRepaired() async throws {
        let database = try await TestDatabase()
        var files = [
            "0002_index.up.sql": "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY audit_at_idx ON audit (at);\nCREATE INDEX CONCURRENTLY broken_idx ON missing_table (x);\n",
        ]
        let folder = try auditFolder(count: 1, extra: files)
        let first = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(first.status == 70, "\(first.all)")
        #expect(first.stderr.contains("could not be undone"))
        #expect(first.stderr.contains("schemagate repair"))
        #expect(try await database.sql("SELECT value->'dirty'->>'version' FROM schemagate_settings WHERE key = 'schema_version'") == "2")

        let second = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(second.status == 70, "\(second.all)")
        #expect(second.stderr.contains("interrupted and has no down file"))

        files["0002_index.up.sql"] = "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS audit_at_idx ON audit (at);\n"
        try files["0002_index.up.sql"]!.write(toFile: folder + "/0002_index.up.sql", atomically: true, encoding: .utf8)
        let repair = try await schemagate(["repair", "--database-url", database.url, "--migrations", folder])
        #expect(repair.status == 0, "\(repair.all)")
        #expect(repair.stdout.contains("cleared the interrupted mark of version 2"))
        let third = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(third.status == 0, "\(third.all)")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'last_failure'") == "0")
    }

    /// The server may refuse a migration only at COMMIT (a deferred constraint) or when the
    /// version is recorded (a `SET ROLE` left in place). That is the migration's failure like any
    /// other: exit 70, the file named, recorded, the lock released, and nobody retries it.
    @Test func anErrorAtCommitIsAMigrationFailure() async throws {
        let database = try await TestDatabase()
        try await database.sql("DROP ROLE IF EXISTS sg_reader; CREATE ROLE sg_reader")
        let cases: [(file: String, sql: String)] = [
            ("0002_deferred.up.sql", """
             CREATE TABLE parent (id int PRIMARY KEY);
             CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);
             INSERT INTO child VALUES (42);
             """),
            ("0002_role.up.sql", "CREATE TABLE side (id int);\nSET ROLE sg_reader;\n"),
        ]
        for (file, sql) in cases {
            let database = try await TestDatabase()
            let folder = try auditFolder(count: 1, extra: [file: sql + "\n"])
            let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
            #expect(result.status == 70, "\(file): \(result.all)")
            #expect(result.stderr.contains(file) && result.stderr.contains("at COMMIT"), "\(result.stderr)")
            #expect(result.stderr.contains("rolled back, schema stays at 1"), "\(result.stderr)")
            #expect(try await database.version() == 1)
            #expect(try await database.sql("SELECT to_regclass('parent') IS NULL AND to_regclass('side') IS NULL") == "t")
            #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
            #expect(try await database.sql("SELECT value->>'version' FROM schemagate_settings WHERE key = 'last_failure'") == "2")
            #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 2 AND NOT success") == "1")
            // Another instance starting now fails fast on the recorded failure, without a retry.
            let again = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
            #expect(again.status == 70, "\(again.all)")
        }
    }

    /// `COPY … FROM STDIN` cannot be fed by a migration: a failure that says so, in either kind
    /// of file, rolled back or undone, and the connection stays usable for recording it.
    @Test func copyFromStdinFailsWithAClearMessage() async throws {
        let files = [
            "0002_copy.up.sql": "CREATE TABLE copied (id int);\nCOPY copied FROM STDIN;\n",
            "0003_copy.up.sql": "-- schemagate: no-transaction\nCREATE TABLE IF NOT EXISTS copied (id int);\nCOPY copied FROM STDIN;\n",
        ]
        for (name, sql) in files {
            let database = try await TestDatabase()
            var extra = [name: sql]
            if name.hasPrefix("0003") {
                extra["0002_plain.up.sql"] = "SELECT 1;\n"
                extra["0003_copy.down.sql"] = "-- schemagate: no-transaction\nDROP TABLE IF EXISTS copied;\n"
            }
            let folder = try auditFolder(count: 1, extra: extra)
            let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
            #expect(result.status == 70, "\(name): \(result.all)")
            #expect(result.stderr.contains("\(name):") && result.stderr.contains("COPY … FROM STDIN needs data from psql's standard input"), "\(result.stderr)")
            #expect(try await database.sql("SELECT to_regclass('copied') IS NULL") == "t")
            #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
        }
    }

    /// `repair` must never record as applied a file that never ran: a new file numbered below
    /// the database's version is refused, with the way out, and nothing changes.
    @Test func repairRefusesAFileNumberedBelowTheDatabase() async throws {
        let database = try await TestDatabase()
        let folder = try makeFolder([
            "10_a.up.sql": "CREATE TABLE a (id int);\n",
            "30_c.up.sql": "CREATE TABLE c (id int);\n",
        ])
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        try "CREATE TABLE b (id int);\n".write(toFile: folder + "/20_b.up.sql", atomically: true, encoding: .utf8)
        let before = try await database.fingerprint()
        for command in [["repair"], ["migrate"], ["plan"]] {
            let result = try await schemagate(command + ["--database-url", database.url, "--migrations", folder])
            #expect(result.status == 65, "\(command): \(result.all)")
            #expect(result.stderr.contains("20_b.up.sql") && result.stderr.contains("never applied") && result.stderr.contains("renumber it above 30"),
                    "\(command): \(result.stderr)")
        }
        #expect(try await database.fingerprint() == before)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 20") == "0")
    }

    @Test func unlockBreaksOnlyAStaleLockUnlessForced() async throws {
        let database = try await TestDatabase()
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", try auditFolder(count: 1)]).status == 0)
        let none = try await schemagate(["unlock", "--database-url", database.url])
        #expect(none.stdout.contains("no migration lock is held"))

        try await database.sql("""
        INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'ghost', 'host', 'host-b', 'pid', 812,
          'taken_at', extract(epoch FROM now()) - 60, 'expires_at', extract(epoch FROM now()) - 30, 'session_visible', false))
        """)
        let stale = try await schemagate(["unlock", "--database-url", database.url])
        #expect(stale.status == 0, "\(stale.all)")
        #expect(stale.stdout.contains("broke the migration lock held by host-b pid 812"))

        try await database.sql("""
        INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'busy', 'host', 'host-c', 'pid', 9,
          'taken_at', extract(epoch FROM now()), 'expires_at', extract(epoch FROM now()) + 600, 'session_visible', false))
        """)
        let live = try await schemagate(["unlock", "--database-url", database.url])
        #expect(live.status == 73)
        #expect(live.stderr.contains("looks alive"))
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "1")
        let forced = try await schemagate(["unlock", "--database-url", database.url, "--force"])
        #expect(forced.status == 0)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
    }

    @Test func aLockHeldByALiveHolderWithoutProgressEndsInLockWait() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        #expect(try await schemagate(["plan", "--database-url", database.url, "--migrations", folder]).status == 0)
        _ = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"])
        try await database.sql("""
        INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'busy', 'host', 'host-c', 'pid', 9,
          'taken_at', extract(epoch FROM now()), 'expires_at', extract(epoch FROM now()) + 600, 'session_visible', false))
        """)
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "1s"])
        #expect(result.status == 73, "\(result.all)")
        #expect(result.stderr.contains("migration lock held by host-c pid 9 made no progress"))
        #expect(result.stderr.contains("waiting for lock held by host-c pid 9"))
        #expect(try await database.version() == 1)
    }
}

@Suite("connection conventions and DDL lock safety")
struct ConventionTests {
    @Test func libpqEnvironmentVariablesAreFollowed() async throws {
        let database = try await TestDatabase()
        let result = try await schemagate(["migrate", "--migrations", exampleMigrations], environment: [
            "PGHOST": database.server.socketDirectory, "PGPORT": String(database.server.port),
            "PGDATABASE": database.name, "PGUSER": "postgres",
        ])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 4)
    }

    @Test func aMigrationThatCannotGetItsLocksGivesUpAndRetries() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        try "ALTER TABLE audit ADD COLUMN note text;\n".write(toFile: folder + "/0002_note.up.sql", atomically: true, encoding: .utf8)
        // This test's own session holds a lock on audit until the migration has had to give up
        // on it at least once, then lets go.
        let blocker = try await Connection.connect(ConnectionString(database.url))
        defer { blocker.close() }
        try await blocker.query("BEGIN")
        try await blocker.query("LOCK TABLE audit IN ACCESS SHARE MODE")
        let migrate = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--ddl-lock-timeout", "500ms"])
        // Watched from the blocker's own session (no process start-ups): the lock is let go once
        // the migration has been seen waiting in two different transactions — it gave up at least
        // once and retried. Comparing transactions, not sampling the gap between waits, keeps a
        // slow, loaded server from making the test miss the retry.
        func waitingTransaction() async throws -> String? {
            // A transaction keeps its first snapshot of pg_stat_activity unless told otherwise.
            try await blocker.query("SELECT pg_stat_clear_snapshot()")
            return try await blocker.query("""
                SELECT xact_start::text FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND datname = current_database()
                """).first?.values.first ?? nil
        }
        var first: String?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let seen = try await waitingTransaction() {
                if first == nil { first = seen } else if seen != first { break }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await blocker.query("COMMIT")
        let result = await migrate.finished()
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stderr.contains("retrying 0002_note"), "\(result.stderr)")
        #expect(result.stderr.contains("55P03"))
        #expect(try await database.version() == 2)
    }
}
