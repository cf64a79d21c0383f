import Foundation
import PostgresHarness
import Testing

@Suite("rollback")
struct RollbackTests {
    @Test func rollsBackNewestFirstAndRecordsIt() throws {
        let database = try TestDatabase()
        #expect(try schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations]).status == 0)
        let result = try schemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", exampleMigrations])
        #expect(result.status == 0, "\(result.all)")
        #expect(try database.version() == 1)
        #expect(try database.sql("SELECT to_regclass('orders') IS NULL AND to_regtype('user_status') IS NULL AND to_regclass('users') IS NOT NULL") == "t")
        #expect(try database.sql("SELECT string_agg(version || ':' || direction, ',' ORDER BY id) FROM schemagate_history WHERE direction = 'down'") == "4:down,3:down,2:down")
        // And forward again.
        #expect(try schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations]).status == 0)
        #expect(try database.version() == 4)
    }

    @Test func anOlderReleaseRollsBackWithTheStoredDownSQL() throws {
        let database = try TestDatabase()
        #expect(try schemagate(["migrate", "--database-url", database.url, "--migrations", exampleMigrations]).status == 0)
        // The older release's folder knows versions 1 and 2 only.
        let older = try makeFolder([
            "0001_create_users.up.sql": try String(contentsOfFile: exampleMigrations + "/0001_create_users.up.sql", encoding: .utf8),
            "0002_create_orders.up.sql": try String(contentsOfFile: exampleMigrations + "/0002_create_orders.up.sql", encoding: .utf8),
        ])
        let ahead = try schemagate(["migrate", "--database-url", database.url, "--migrations", older])
        #expect(ahead.status == 0)
        #expect(ahead.stderr.contains("ahead of this release's target"))
        let result = try schemagate(["rollback", "--to", "2", "--database-url", database.url, "--migrations", older])
        #expect(result.status == 0, "\(result.all)")
        #expect(try database.version() == 2)
        #expect(try database.sql("SELECT to_regclass('orders_user_id_placed_at_idx') IS NULL") == "t")
    }

    @Test func refusesWhenADownIsMissingAndChangesNothing() throws {
        let database = try TestDatabase()
        let folder = try auditFolder(count: 3)
        #expect(try schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        let before = try database.fingerprint()
        let result = try schemagate(["rollback", "--to", "0", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("no down SQL for version 1"))
        #expect(try database.fingerprint() == before)
        let above = try schemagate(["rollback", "--to", "5", "--database-url", database.url, "--migrations", folder])
        #expect(above.status == 2)
        #expect(above.stderr.contains("--to 5: the database is at 3"))
    }

    /// A version whose history row is gone is not skipped: rolling back over it is refused,
    /// naming it, and nothing is rolled back.
    @Test func refusesToSkipAVersionWithoutHistory() throws {
        let database = try TestDatabase()
        let folder = try auditFolder(count: 4)
        #expect(try schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        try database.sql("DELETE FROM schemagate_history WHERE version = 3")
        let before = try database.fingerprint()
        let result = try schemagate(["rollback", "--to", "2", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("version 3 of the folder") && result.stderr.contains("no history row"), "\(result.stderr)")
        #expect(try database.fingerprint() == before)
        #expect(try database.sql("SELECT to_regclass('step_3') IS NOT NULL AND to_regclass('step_4') IS NOT NULL") == "t")
    }
}
