import Foundation
import PostgresHarness
import Testing

/// `rollback` and `repair` take the lock through the same protocol as `migrate`: they wait their
/// turn behind a live holder, and whatever order the fleet and they end up in, each version is
/// applied or undone once per run and the database stays consistent.
@Suite("operator commands in the lock protocol", .serialized)
struct OperatorCommandTests {
    /// Four migrations; 3 waits at the test's advisory-lock gate, so a holder can be kept inside it.
    func gatedFolder() throws -> String {
        try auditFolder(count: 4, extra: [
            "0003_step_3.up.sql": "CREATE TABLE step_3 (id int);\n" + StatusSocketTests.Gate.sql + "INSERT INTO audit (version) VALUES (3);\n",
        ])
    }

    func waitForTheGate(_ database: TestDatabase) async throws {
        try await waitUntil(seconds: 120) {
            try await database.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "1"
        }
    }

    /// Up rows minus down rows of each version in history, as "version:net" (1 applied, 0 not).
    func netHistory(_ database: TestDatabase) async throws -> String {
        try await database.sql("""
        SELECT string_agg(version || ':' || net, ',' ORDER BY version) FROM (
          SELECT version, sum(CASE direction WHEN 'up' THEN 1 WHEN 'down' THEN -1 ELSE 0 END) AS net
          FROM schemagate_history WHERE success GROUP BY version) h
        """)
    }

    @Test func aRollbackRacingThreeMigratesWaitsItsTurnAndNothingRunsTwice() async throws {
        let database = try await TestDatabase()
        let folder = try gatedFolder()
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "2"]).status == 0)
        let gate = try await StatusSocketTests.Gate(database)
        let holder = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--ddl-lock-timeout", "5m"])
        try await waitForTheGate(database)
        // While the holder is inside migration 3: a rollback and two more migrates join the queue
        // (then five sessions: the holder's, the gate's and theirs).
        let rollback = try startSchemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", folder, "--lock-wait", "60s"])
        let others = try (0..<2).map { _ in
            try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "60s"])
        }
        try await waitUntil(seconds: 120) {
            Int(try await database.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'schemagate'")) ?? 0 >= 5
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await database.version() == 2, "someone moved the version while the holder held the lock")
        try await gate.open()

        let rolledBack = await rollback.finished()
        #expect(rolledBack.status == 0, "\(rolledBack.all.suffix(1500))")
        #expect(rolledBack.stderr.contains("waiting for lock held by"), "\(rolledBack.stderr.suffix(1500))")
        for process in [holder] + others {
            let output = await process.finished()
            #expect(output.status == 0, "\(output.all.suffix(1500))")
        }
        // The rollback ran after the holder had finished: its downs of 4 and 3 follow their ups.
        #expect(try await database.sql("""
        SELECT string_agg(version || ':' || direction, ',' ORDER BY id) FROM schemagate_history WHERE success AND id >
          (SELECT max(id) FROM schemagate_history WHERE version = 2 AND direction = 'up')
        """).hasPrefix("3:up,4:up,4:down,3:down,2:down"))
        // Consistent, whichever order the race ended in: the version, the audit rows, the
        // tables and the history agree, and nothing ran twice.
        let final = try await database.version()
        #expect(final == 1 || final == 4, "ended at \(final)")
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == (1...final).map(String.init).joined(separator: ","))
        #expect(try await database.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'step_%'") == String(final - 1))
        #expect(try await netHistory(database) == (1...4).map { "\($0):\($0 <= final ? 1 : 0)" }.joined(separator: ","))
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE NOT success") == "0")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
    }

    @Test func repairWaitsForAHolderInsteadOfRefusing() async throws {
        let database = try await TestDatabase()
        let folder = try gatedFolder()
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "2"]).status == 0)
        // The repair's copy of the folder has an edited version 1 whose new checksum it accepts.
        let edited = try gatedFolder()
        let first = edited + "/0001_audit.up.sql"
        try (try String(contentsOfFile: first, encoding: .utf8) + "-- reviewed\n").write(toFile: first, atomically: true, encoding: .utf8)
        let gate = try await StatusSocketTests.Gate(database)
        let holder = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--ddl-lock-timeout", "5m"])
        try await waitForTheGate(database)
        let repair = try startSchemagate(["repair", "--database-url", database.url, "--migrations", edited, "--lock-wait", "60s"])
        try await waitUntil(seconds: 120) {
            Int(try await database.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'schemagate'")) ?? 0 >= 3
        }
        try await Task.sleep(for: .milliseconds(1000))
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE direction = 'repair'") == "0", "repair ran while the holder held the lock")
        try await gate.open()

        let repaired = await repair.finished()
        #expect(repaired.status == 0, "\(repaired.all.suffix(1500))")
        #expect(repaired.stdout.contains("accepted the new checksum of version 1"), "\(repaired.all.suffix(1500))")
        #expect(repaired.stderr.contains("waiting for lock held by"), "\(repaired.stderr.suffix(1500))")
        let migrated = await holder.finished()
        #expect(migrated.status == 0, "\(migrated.all.suffix(1500))")
        // The repair came after the holder's migrations, under the lock; the edited folder is
        // now accepted as it is.
        #expect(try await database.sql("SELECT string_agg(version || ':' || direction, ',' ORDER BY id) FROM schemagate_history WHERE success") == "1:up,2:up,3:up,4:up,1:repair")
        #expect(try await database.version() == 4)
        #expect(try await schemagate(["validate", "--database-url", database.url, "--migrations", edited]).status == 0)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
    }
}
