import Foundation
import PostgresHarness
import SchemagateCore
import Testing

@Suite("migrate, plan, history, validate, new against a real PostgreSQL")
struct MigrateTests {
    @Test func appliesTheExampleMigrationsInOrder() async throws {
        let database = try await TestDatabase()
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 4)
        #expect(try await database.sql("SELECT string_agg(version::text || ':' || direction || ':' || success, ',' ORDER BY id) FROM schemagate_history")
                == "1:up:true,2:up:true,3:up:true,4:up:true")
        #expect(try await database.sql("SELECT indexname FROM pg_indexes WHERE indexname = 'orders_user_id_placed_at_idx'") == "orders_user_id_placed_at_idx")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
        #expect(result.stderr.contains("applying 0003_index_orders_by_user (3 of 4)"))
        #expect(result.stderr.contains("ready: schema at 4"))

        // Run again: the fast path, nothing applied, no lock taken.
        let again = try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(again.status == 0, "\(again.all)")
        #expect(!again.stderr.contains("lock acquired"))
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history") == "4")
    }

    /// The fast path reads without checking for schemagate's tables first, and at the target it
    /// reads neither the fleet nor the contract column. On a layout from before the fleet
    /// registry or contract migrations it is ready and changes nothing; the next run that needs
    /// them (here one with a migration pending) finds them missing, makes them and reads again,
    /// with nothing applied twice.
    @Test func theFastPathBringsAnOlderTableLayoutUpToDate() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        for change in ["DROP TABLE schemagate_fleet", "ALTER TABLE schemagate_history DROP COLUMN contract"] {
            try await database.sql(change)
            let again = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
            #expect(again.status == 0, "\(change): \(again.all)")
            #expect(again.stderr.contains("ready: schema at 3"), "\(change): \(again.all)")
            #expect(!again.stderr.contains("lock acquired"), "\(change): \(again.all)")
        }
        #expect(try await database.sql("SELECT to_regclass('schemagate_fleet') IS NULL") == "t", "the fast path changed the layout")
        let grown = try auditFolder(count: 4)
        let upgrade = try await schemagate(["migrate", "--database-url", database.url, "--migrations", grown])
        #expect(upgrade.status == 0, "\(upgrade.all)")
        #expect(upgrade.stderr.contains("ready: schema at 4"), "\(upgrade.all)")
        #expect(try await database.sql("SELECT to_regclass('schemagate_fleet') IS NOT NULL") == "t")
        #expect(try await database.sql("SELECT count(*) FROM pg_attribute WHERE attrelid = 'schemagate_history'::regclass AND attname = 'contract'") == "1")
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2,3,4")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history") == "4")
    }

    @Test func threeProcessesAtOnceApplyEachMigrationOnce() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 6)
        let processes = try (0..<3).map { _ in
            try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        }
        for process in processes {
            let output = await process.finished()
            #expect(output.status == 0, "\(output.all)")
        }
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2,3,4,5,6")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE success") == "6")
        #expect(try await database.version() == 6)
    }

    /// On a direct session the version move is a prepared statement sent with the migration's
    /// SQL and COMMIT in one round trip. A migration that deallocates it (`DEALLOCATE ALL`) is
    /// rolled back and run once more without it: each file applied once, each history row once,
    /// with the duration the server measured.
    @Test func aMigrationThatDeallocatesOurPreparedStatementIsStillAppliedOnce() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 4, extra: [
            "0003_step_3.up.sql": "CREATE TABLE step_3 (id int);\nINSERT INTO audit (version) VALUES (3);\nDEALLOCATE ALL;\n",
        ])
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 4)
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2,3,4")
        #expect(try await database.sql("SELECT string_agg(version || ':' || success, ',' ORDER BY id) FROM schemagate_history")
                == "1:true,2:true,3:true,4:true")
        #expect(try await database.sql("SELECT bool_and(duration_ms >= 0 AND duration_ms < 60000) FROM schemagate_history") == "t")
    }

    @Test func planShowsPendingAndChangesNothing() async throws {
        let database = try await TestDatabase()
        let before = try await database.fingerprint()
        let plan = try await schemagate(["plan", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(plan.status == 0, "\(plan.all)")
        #expect(plan.stdout.contains("schema at version 0"))
        #expect(plan.stdout.contains("0003_index_orders_by_user  (no-transaction)"))
        #expect(try await database.fingerprint() == before)

        _ = try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations, "--target", "2"])
        let json = try await schemagate(["plan", "--database-url", database.url, "--migrations", exampleMigrations, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["current_version"] as? Int == 2)
        #expect((object?["pending"] as? [[String: Any]])?.compactMap { $0["version"] as? Int } == [3, 4])
        #expect(object?["lock"] is NSNull)
        #expect(plan.stdout.contains("lock:     free"))

        // Who migrates, and whether it is alive, is in the plan: no SQL needed.
        try await database.sql("""
        INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'busy', 'host', 'host-c', 'pid', 9,
          'taken_at', extract(epoch FROM now()) - 30, 'expires_at', extract(epoch FROM now()) - 5, 'session_visible', false))
        """)
        let locked = try await schemagate(["plan", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(locked.stdout.contains(#/lock:     held by host-c pid 9 for 3\ds, session not visible, lease ran out \d+s ago; the holder is gone/#), "\(locked.stdout)")
        let lockedJSON = try await schemagate(["plan", "--database-url", database.url, "--migrations", exampleMigrations, "--json"])
        let lock = (try JSONSerialization.jsonObject(with: Data(lockedJSON.stdout.utf8)) as? [String: Any])?["lock"] as? [String: Any]
        #expect(lock?["host"] as? String == "host-c" && lock?["stale"] as? Bool == true && lock?["session"] as? String == "not visible")
        try await database.sql("UPDATE schemagate_settings SET value = '\"garbage\"' WHERE key = 'migration_lock'")
        let garbage = try await schemagate(["plan", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(garbage.status == 0 && garbage.stdout.contains("lock:     unreadable"), "\(garbage.all)")
    }

    @Test func historyListsWhatWasApplied() async throws {
        let database = try await TestDatabase()
        _ = try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations])
        let history = try await schemagate(["history", "--database-url", database.url])
        #expect(history.status == 0)
        #expect(history.stdout.split(separator: "\n").count == 4)
        #expect(history.stdout.contains("create_orders"))
        let json = try await schemagate(["history", "--database-url", database.url, "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.map { $0["version"] as? Int } == [1, 2, 3, 4])
        #expect(rows?.allSatisfy { $0["has_down_sql"] as? Bool == true } == true)
    }

    @Test func downSQLIsStoredWithTheAppliedMigration() async throws {
        let database = try await TestDatabase()
        _ = try await schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(try await database.sql("SELECT down_sql FROM schemagate_history WHERE version = 1") == "DROP TABLE users;")
    }

    /// Files saved with a UTF-8 byte order mark run as psql runs them; the checksum is over the
    /// bytes, mark included.
    @Test func filesWithAByteOrderMarkApply() async throws {
        let database = try await TestDatabase()
        let table = "\u{FEFF}CREATE TABLE marked (id int);\n"
        let folder = try makeFolder([
            "1_table.up.sql": table,
            "2_index.up.sql": "\u{FEFF}-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY marked_id ON marked (id);\n",
        ])
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT checksum FROM schemagate_history WHERE version = 1") == Checksum.sha256(Array(table.utf8)))
    }

    @Test func validateReportsEveryFolderProblemAndChecksums() async throws {
        let database = try await TestDatabase()
        let good = try await schemagate(["validate", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(good.status == 0, "\(good.all)")
        let folder = try makeFolder(["1_a.up.sql": "SELECT 1;", "2_b.down.sql": "SELECT 1;", "bad.sql": "SELECT 1;"])
        let bad = try await schemagate(["validate", "--offline", "--migrations", folder])
        #expect(bad.status == 65)
        #expect(bad.stdout.contains("2_b.down.sql: down file without its .up.sql"))
        #expect(bad.stdout.contains("bad.sql: not a migration file name"))
    }

    @Test func newCreatesTheNextVersion() async throws {
        let folder = try makeFolder(["0007_seven.up.sql": "SELECT 1;"])
        let created = try await schemagate(["new", "add_widgets", "--migrations", folder])
        #expect(created.status == 0, "\(created.all)")
        #expect(FileManager.default.fileExists(atPath: folder + "/0008_add_widgets.up.sql"))
        #expect(FileManager.default.fileExists(atPath: folder + "/0008_add_widgets.down.sql"))
        let refused = try await schemagate(["new", "Bad-Name", "--migrations", folder])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("NAME 'Bad-Name'"))
    }

    @Test func fiftyProcessesCreateTheTablesAtTheSameInstant() async throws {
        let database = try await TestDatabase()
        let folder = try makeFolder(["1_one.up.sql": "SELECT 1;"])
        let processes = try (0..<50).map { _ in
            try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        }
        var failures: [String] = []
        for process in processes {
            let output = await process.finished()
            if output.status != 0 { failures.append(output.all) }
        }
        #expect(failures.isEmpty, "\(failures.first ?? "")")
        #expect(try await database.version() == 1)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history") == "1")
    }

    @Test func environmentVariablesConfigureEverything() async throws {
        let database = try await TestDatabase()
        let result = try await schemagate(["migrate"], environment: [
            "SCHEMAGATE_DATABASE_URL": database.url, "SCHEMAGATE_MIGRATIONS": exampleMigrations,
            "SCHEMAGATE_TARGET": "1", "SCHEMAGATE_SETTINGS_TABLE": "app_settings", "SCHEMAGATE_LOG_FORMAT": "json",
        ])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version(table: "app_settings") == 1)
        #expect(result.stderr.contains("\"event\":\"migration_applied\""))
    }

    @Test func databaseURLFromSystemdCredential() async throws {
        let database = try await TestDatabase()
        let credentials = try makeFolder(["database-url": database.url])
        let result = try await schemagate(["migrate", "--migrations", exampleMigrations], environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 4)
    }
}
