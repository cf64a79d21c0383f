import Foundation
import PostgresHarness
import Testing

/// Folders written for other tools: titles with dots, dashes and capitals, and deliberate no-op
/// down files, applied, rolled back to 0 and applied again against a real PostgreSQL.
@Suite("adopted folders")
struct AdoptedFolderTests {
    func schemaDump(_ database: TestDatabase) async throws -> String { try await database.schemaDump() }

    @Test func dottedTitlesAndNoOpDownsRollBackAndReapply() async throws {
        let database = try await TestDatabase()
        let folder = try makeFolder([
            "000001_Create-Users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);",
            "000001_Create-Users.down.sql": "DROP TABLE users;",
            "000002_upgrade_users_v6.0.up.sql": "ALTER TABLE users ADD COLUMN email text;",
            "000002_upgrade_users_v6.0.down.sql": "",
            "000003_add-index.up.sql": "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
            "000003_add-index.down.sql": "-- the index goes with its table\n/* nothing to undo */\n",
        ])
        let empty = try await schemaDump(database)
        let up = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(up.status == 0, "\(up.all)")
        #expect(try await database.version() == 3)
        #expect(try await database.sql("SELECT to_regclass('users_email_idx') IS NOT NULL") == "t")
        let applied = try await schemaDump(database)

        let down = try await schemagate(["rollback", "--to", "0", "--database-url", database.url, "--migrations", folder])
        #expect(down.status == 0, "\(down.all)")
        #expect(down.stderr.contains("upgrade_users_v6.0"))
        #expect(try await database.version() == 0)
        // The no-op downs are passed and recorded; the first down drops the table with its index and column.
        #expect(try await database.sql("SELECT string_agg(version || ':' || name, ',' ORDER BY id) FROM schemagate_history WHERE direction = 'down'")
                == "3:add-index,2:upgrade_users_v6.0,1:Create-Users")
        let rolledBack = try await schemaDump(database)
        #expect(rolledBack == empty, "\(rolledBack)\n---\n\(empty)")

        let again = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(again.status == 0, "\(again.all)")
        #expect(try await schemaDump(database) == applied)
        #expect(applied.contains("CREATE INDEX users_email_idx"))
    }

    /// Eight processes race on a corpus with a `DO` body holding semicolons and quotes in comments
    /// and a morph no-transaction file; the result is applied once and equals psql's on the same files.
    @Test func eightProcessesMatchPsqlOnTheSameFiles() async throws {
        let files = [
            "001_Create.Accounts.up.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, note text DEFAULT 'it''s; fine');",
            "001_Create.Accounts.down.sql": "DROP TABLE accounts;",
            "002_seed-With-DO.up.sql": """
            DO $$
            BEGIN
              -- a comment with a ; and a ' quote
              /* and "another"; one */
              IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'ledger') THEN
                EXECUTE 'CREATE TABLE ledger (id int, memo text)';
              END IF;
            END
            $$;
            """,
            "002_seed-With-DO.down.sql": "-- ledger is left for the operator\n",
            "003_Index_v1.0.up.sql": "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY ledger_id_idx ON ledger (id);",
            "003_Index_v1.0.down.sql": "",
        ]
        let folder = try makeFolder(files)
        let reference = try await TestDatabase()
        for name in files.keys.filter({ $0.hasSuffix(".up.sql") }).sorted() {
            let run = try await ProcessRunner.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                             "--dbname=\(reference.url)", "-f", folder + "/" + name])
            #expect(run.status == 0, "\(run.all)")
        }
        let database = try await TestDatabase()
        var processes: [RunningProcess] = []
        for _ in 1...8 {
            processes.append(try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder]))
        }
        for process in processes {
            let output = await process.finished()
            #expect(output.status == 0, "\(output.all)")
        }
        #expect(try await database.version() == 3)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE success AND direction = 'up'") == "3")
        let dump = try await schemaDump(database)
        #expect(await dump == (try schemaDump(reference)))
        #expect(dump.contains("ledger_id_idx"))
    }
}
