import Foundation
import PostgresHarness
import Testing

/// Each bad input: one clear line naming the thing, a distinct exit code, the database unchanged.
@Suite("bad input")
struct BadInputTests {
    /// Runs migrate on `folder` and checks code, message and that the database did not change.
    func expectRefused(
        folder: String, extra: [String] = [], code: Int32, mentions: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let database = try await TestDatabase()
        let before = try await database.fingerprint()
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder] + extra)
        #expect(result.status == code, "\(result.all)", sourceLocation: sourceLocation)
        let errorLines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("schemagate: ") }
        #expect(errorLines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        for word in mentions {
            #expect(result.stderr.contains(word), "missing '\(word)' in: \(result.stderr)", sourceLocation: sourceLocation)
        }
        #expect(try await database.fingerprint() == before, sourceLocation: sourceLocation)
    }

    @Test func missingFolder() async throws {
        try await expectRefused(folder: "/nonexistent/migrations", code: 65, mentions: ["/nonexistent/migrations", "not found"])
    }

    @Test func emptyFolder() async throws {
        let folder = try makeFolder(["README.md": "notes"])
        try await expectRefused(folder: folder, code: 65, mentions: [folder, "holds no migrations", "schemagate new"])
    }

    @Test func badFileName() async throws {
        let folder = try makeFolder(["1_ok.up.sql": "SELECT 1;", "2_Fine-Name.v2.up.sql": "SELECT 1;", "v3_bad.up.sql": "SELECT 1;"])
        try await expectRefused(folder: folder, code: 65, mentions: ["v3_bad.up.sql", "not a migration file name"])
    }

    @Test func duplicateVersion() async throws {
        let folder = try makeFolder(["1_a.up.sql": "SELECT 1;", "001_b.up.sql": "SELECT 1;"])
        try await expectRefused(folder: folder, code: 65, mentions: ["001_b.up.sql", "1_a.up.sql", "version 1 is used more than once"])
    }

    @Test func downWithoutUp() async throws {
        let folder = try makeFolder(["1_a.up.sql": "SELECT 1;", "2_b.down.sql": "SELECT 1;"])
        try await expectRefused(folder: folder, code: 65, mentions: ["2_b.down.sql", "without its .up.sql"])
    }

    @Test func unknownDirective() async throws {
        let folder = try makeFolder(["1_a.up.sql": "-- schemagate: no-transacton\nSELECT 1;"])
        try await expectRefused(folder: folder, code: 65, mentions: ["1_a.up.sql", "unknown directive 'no-transacton'", "no-transaction"])
    }

    @Test func directiveBelowTheFirstLine() async throws {
        let folder = try makeFolder(["1_a.up.sql": "-- builds the index\n-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);"])
        try await expectRefused(folder: folder, code: 65, mentions: ["1_a.up.sql:2:", "first line"])
    }

    @Test func allowBlockingBelowTheFirstLine() async throws {
        let folder = try makeFolder(["1_a.up.sql": "ALTER TABLE t ADD c int;\n-- schemagate: allow-blocking\n"])
        try await expectRefused(folder: folder, code: 65, mentions: ["1_a.up.sql:2:", "first line"])
    }

    @Test(arguments: [
        (["--max-block", "0"], "--max-block '0ms': must be more than 0"),
        (["--max-block=-1s"], "--max-block '-1s': not a duration"),
        (["--max-block", "5s"], "must be shorter than --ddl-lock-timeout '5s'"),
        (["--max-block", "2s", "--ddl-lock-timeout", "1s"], "--max-block '2s': must be shorter than --ddl-lock-timeout '1s'"),
        (["--max-block-retries=-1"], "--max-block-retries '-1': must be from 0 to 1000"),
        (["--max-block-retries", "100000"], "--max-block-retries '100000': must be from 0 to 1000"),
        (["--max-block-retries", "many"], "--max-block-retries 'many': not a whole number"),
    ])
    func governorOptionsAreUsageErrors(options: [String], message: String) async throws {
        let folder = try makeFolder(["1_a.up.sql": "CREATE TABLE governed (id int);"])
        try await expectRefused(folder: folder, extra: options, code: 2, mentions: [message])
    }

    @Test func emptyMigrationFile() async throws {
        let folder = try makeFolder(["1_a.up.sql": "-- nothing here yet\n\n"])
        try await expectRefused(folder: folder, code: 65, mentions: ["1_a.up.sql", "holds no SQL statements"])
    }

    @Test func invalidUTF8() async throws {
        let folder = try makeFolder([:])
        try Data([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0xff, 0xfe, 0x3b]).write(to: URL(fileURLWithPath: folder + "/1_a.up.sql"))
        try await expectRefused(folder: folder, code: 65, mentions: ["1_a.up.sql", "not valid UTF-8"])
    }

    @Test func transactionControlInATransactionalMigration() async throws {
        let folder = try makeFolder(["1_a.up.sql": "CREATE TABLE a (id int);\nCOMMIT;\n"])
        try await expectRefused(folder: folder, code: 65, mentions: ["1_a.up.sql:2", "COMMIT is not allowed"])
    }

    @Test func syntaxErrorInTheThirdOfFivePending() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 5, extra: [
            "0003_step_3.up.sql": "CREATE TABLE step_3 (id int);\nINSERT INTO audit (version) VALUES (3);\nCRATE TABLE oops (id int);\n",
        ])
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 70, "\(result.all)")
        #expect(result.stderr.contains("0003_step_3.up.sql:3:1: syntax error at or near \"CRATE\" (SQLSTATE 42601); rolled back, schema stays at 2"), "\(result.stderr)")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2")
        #expect(try await database.sql("SELECT to_regclass('step_3') IS NULL AND to_regclass('step_4') IS NULL") == "t")
        #expect(try await database.sql("SELECT value->>'version' || ':' || (value->>'sqlstate') FROM schemagate_settings WHERE key = 'last_failure'") == "3:42601")
        #expect(try await database.sql("SELECT string_agg(version || ':' || success, ',' ORDER BY id) FROM schemagate_history") == "1:true,2:true,3:false")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
    }

    @Test func checksumMismatchOfAnAppliedMigration() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        try "CREATE TABLE step_2 (id bigint);\nINSERT INTO audit (version) VALUES (2);\n".write(toFile: folder + "/0002_step_2.up.sql", atomically: true, encoding: .utf8)
        let before = try await database.fingerprint()
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("0002_step_2.up.sql: version 2 was applied with checksum"))
        #expect(result.stderr.contains("schemagate repair"))
        #expect(try await database.fingerprint() == before)

        // repair accepts the new checksum, recorded in history; migrate then passes.
        let repair = try await schemagate(["repair", "--database-url", database.url, "--migrations", folder])
        #expect(repair.status == 0, "\(repair.all)")
        #expect(repair.stdout.contains("accepted the new checksum of version 2"))
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE direction = 'repair' AND version = 2") == "1")
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
    }

    @Test func targetAboveTheHighestFile() async throws {
        try await expectRefused(folder: try auditFolder(count: 3), extra: ["--target", "9"], code: 2, mentions: ["--target 9", "highest is 3"])
    }

    @Test func targetBelowTheDatabaseVersionIsANoticeAndChangesNothing() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        let before = try await database.fingerprint()
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"])
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stderr.contains("ready: schema at 3, ahead of this release's target"))
        #expect(try await database.fingerprint() == before)
    }

    @Test func databaseUnreachable() async throws {
        let folder = try auditFolder(count: 2)
        let result = try await schemagate(["migrate", "--database-url", "postgresql://nobody@127.0.0.1:1/none", "--migrations", folder, "--lock-wait", "1s"])
        #expect(result.status == 69, "\(result.all)")
        #expect(result.stderr.contains("schemagate: database unreachable:"))
        #expect(result.stderr.contains("127.0.0.1"))
        // libpq's continuation lines are one line with single spaces, and text logs carry a zone.
        #expect(!result.stderr.contains("\t"), "\(result.stderr)")
        #expect(result.stderr.contains(#/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /#), "\(result.stderr)")
    }

    @Test func wrongPasswordIsRefusedAndNeverShown() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        let secret = "Wr0ng-Secret-Xyzzy"
        let before = try await database.fingerprint()
        for command in [["migrate", "--migrations", folder], ["plan", "--migrations", folder], ["history"], ["validate", "--migrations", folder]] {
            let result = try await schemagate(command + ["--database-url", database.server.appURL(database: database.name, password: secret)])
            #expect(result.status == 77, "\(command): \(result.all)")
            #expect(result.stderr.contains("authentication refused: "), "\(command): \(result.stderr)")
            #expect(!result.all.contains(secret), "\(command) printed the password")
        }
        // The same secret through the environment and a credential file: still never printed.
        let viaEnvironment = try await schemagate(["migrate", "--migrations", folder], environment: [
            "SCHEMAGATE_DATABASE_URL": database.server.appURL(database: database.name, password: secret),
        ])
        #expect(viaEnvironment.status == 77)
        #expect(!viaEnvironment.all.contains(secret))
        #expect(try await database.fingerprint() == before)
        // The right password works.
        let plan = try await schemagate(["plan", "--database-url", database.server.appURL(database: database.name), "--migrations", folder])
        #expect(plan.status == 0, "\(plan.all)")
        #expect(!plan.all.contains(PostgresServer.appPassword))
    }

    @Test func malformedConnectionStringIsAUsageError() async throws {
        let result = try await schemagate(["migrate", "--database-url", "host=/tmp port='unterminated password=hunter2", "--migrations", try auditFolder(count: 2)])
        #expect(result.status == 2, "\(result.all)")
        #expect(result.stderr.contains("--database-url"))
        #expect(!result.all.contains("hunter2"))
    }

    /// `daemon` and `migrate` parse their own options first (a cheaper start); whatever that parse
    /// refuses goes through the whole command tree, so help and errors read as for any command.
    @Test func theFastPathCommandsKeepTheirHelpAndErrors() async throws {
        for command in ["daemon", "migrate"] {
            for help in ["--help", "-h"] {
                let output = try await schemagate([command, help])
                #expect(output.status == 0 && output.stdout.contains("USAGE: schemagate \(command) <options>"), "\(output.all.prefix(300))")
                #expect(output.stdout == (try await schemagate(["help", command])).stdout)
            }
            let typo = try await schemagate([command, "--lok-wait", "5s"])
            #expect(typo.status == 2 && typo.stderr.contains("Unknown option '--lok-wait'") && typo.stderr.contains("schemagate \(command) --help"), "\(typo.stderr)")
        }
    }

    @Test func badDurationIsAUsageError() async throws {
        let result = try await schemagate(["migrate", "--lock-wait", "soon", "--migrations", try auditFolder(count: 2)])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--lock-wait 'soon': not a duration"))
    }

    @Test func settingsTableNameThatNeedsQuoting() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3)
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--settings-table", "My Settings"])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version(table: "\"My Settings\"") == 3)
        #expect(try await schemagate(["plan", "--database-url", database.url, "--migrations", folder, "--settings-table", "My Settings"]).stdout.contains("schema at version 3"))
    }

    @Test func injectionAttemptInTheSettingsTableNameIsJustAName() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        let hostile = "x\"; DROP TABLE audit; --"
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--settings-table", hostile, "--schema", "s\"; DROP SCHEMA public CASCADE; --"])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.sql("SELECT count(*) FROM audit") == "2")
        #expect(try await database.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'x\"; DROP TABLE audit; --'") == "1")
        #expect(try await database.sql("SELECT to_regnamespace('public') IS NOT NULL") == "t")
    }

    /// An option a command would ignore is not offered at all: it is an unknown option (exit 2).
    /// The environment file several commands share may still set it: each reads only its own.
    @Test func optionsExistOnlyWhereTheyAct() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        let ignored: [[String]] = [
            ["new", "x", "--target", "3"], ["validate", "--target", "3"], ["repair", "--target", "3"],
            ["history", "--lease", "5s"], ["unlock", "--lease", "5s"], ["plan", "--lease", "5s"],
            ["history", "--ddl-lock-timeout", "1s"], ["unlock", "--ddl-lock-timeout", "1s"], ["plan", "--ddl-lock-timeout", "1s"],
            // The governor watches only migration SQL: repair and baseline send bookkeeping.
            ["repair", "--max-block", "100ms"], ["baseline", "--max-block-retries", "3", "--version", "1"],
        ]
        for arguments in ignored {
            let result = try await schemagate(arguments + ["--database-url", database.url, "--migrations", folder])
            #expect(result.status == 2, "\(arguments): \(result.all)")
            #expect(result.stderr.contains("Unknown option '\(arguments.first { $0.hasPrefix("--") }!)'"), "\(arguments): \(result.stderr)")
        }
        let shared = ["SCHEMAGATE_LEASE": "soon", "SCHEMAGATE_TARGET": "1"]
        let plan = try await schemagate(["plan", "--database-url", database.url, "--migrations", folder], environment: shared)
        #expect(plan.status == 0, "\(plan.all)")
        let migrate = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder], environment: shared)
        #expect(migrate.status == 2 && migrate.stderr.contains("--lease 'soon'"), "\(migrate.all)")
        #expect(try await database.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'audit'") == "0")
    }
}
