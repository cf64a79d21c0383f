import Foundation
import PostgresHarness
import SchemagateCore
import SchemagateStore
import Testing

/// One test per row of the exit-code table in docs/reference.md: each code is produced by a real
/// command against a real server, means the one thing the table says, and changes nothing it
/// should not. The table itself is checked against `SchemagateExitCode`.
@Suite("exit codes: one meaning each")
struct ExitCodeTests {
    /// A lock record of a holder that looks alive (lease far ahead, session not visible, as
    /// through a pooler), so that waiters can only wait.
    static let liveForeignLock = """
    INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'busy', 'host', 'host-c', 'pid', 9,
      'taken_at', extract(epoch FROM now()), 'expires_at', extract(epoch FROM now()) + 600, 'session_visible', false))
    """

    @Test func theReferenceTableListsEveryCodeOnce() async throws {
        let reference = try String(contentsOfFile: exampleMigrations + "/../docs/reference.md", encoding: .utf8)
        let section = reference.components(separatedBy: "## Exit codes").last!.components(separatedBy: "\n## ").first!
        let codes = section.split(separator: "\n").compactMap { line -> Int32? in
            guard line.hasPrefix("| "), let cell = line.split(separator: "|").first else { return nil }
            return Int32(cell.trimmingCharacters(in: .whitespaces))
        }
        #expect(codes == SchemagateExitCode.allCases.map(\.rawValue))
        #expect(Set(SchemagateExitCode.allCases.map(\.meaning)).count == SchemagateExitCode.allCases.count)
    }

    /// Each way a run can end has its own journal event; only failed SQL is `migration_failed`.
    @Test func everyExitCauseHasItsOwnEvent() {
        let causes: [MigrateError] = [
            .unavailable("refused"), .lockWaitExceeded(nil, waited: .seconds(1)), .lockLost(by: nil),
            .authentication("no"), .configuration("bad"), .plan(.nothingInterrupted),
            .plan(.checksumMismatch(version: 1, file: "0001_a.up.sql", recorded: "a", found: "b")), .recoveryFailed("down failed"),
        ]
        let events = causes.compactMap(\.event)
        #expect(events.count == causes.count)
        #expect(Set(events.map(\.rawValue)).count == 7, "\(events)")
        #expect(events.filter { $0 == .migrationFailed }.count == 1)
        #expect(MigrateError.stopped.event == nil)
    }

    @Test func code0Done() async throws {
        let database = try await TestDatabase()
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", try auditFolder(count: 2)])
        #expect(result.status == 0, "\(result.all)")
        #expect(try await database.version() == 2)
    }

    @Test func code1NoDaemonAnswered() async throws {
        let result = try await schemagate(["status", "--socket", "/tmp/sg-none-\(UUID().uuidString.prefix(8)).sock"])
        #expect(result.status == 1, "\(result.all)")
        #expect(result.stderr.contains("no daemon answered"))
    }

    @Test func code2UsageChangesNothing() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        for bad in [["--lease", "0s"], ["--lock-wait", "soon"], ["--target", "9"], ["--no-such-option"]] {
            let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder] + bad)
            #expect(result.status == 2, "\(bad): \(result.all)")
            #expect(result.stderr.split(separator: "\n").count == 1 || bad == ["--no-such-option"], "\(bad): \(result.stderr)")
        }
        #expect(try await database.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'audit'") == "0")
    }

    @Test func code3NotReadyByTheTimeout() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"]).status == 0)
        try await database.sql(Self.liveForeignLock)
        let socket = "/tmp/sg-\(UUID().uuidString.prefix(8)).sock"
        let daemon = try startSchemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--socket", socket])
        try await waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: socket) }
        let waited = try await schemagate(["wait", "--socket", socket, "--timeout", "500ms"])
        #expect(waited.status == 3, "\(waited.all)")
        #expect(waited.stderr.contains("not ready after 500ms"), "\(waited.stderr)")
        // Each command's timeout has its own variable: reload's does not bound wait.
        let byEnvironment = try await schemagate(["wait", "--socket", socket], environment: ["SCHEMAGATE_WAIT_TIMEOUT": "300ms", "SCHEMAGATE_RELOAD_TIMEOUT": "1h"])
        #expect(byEnvironment.status == 3 && byEnvironment.stderr.contains("not ready after 300ms"), "\(byEnvironment.all)")
        daemon.signal(SIGTERM)
        #expect(await daemon.finished().status == 0)
        #expect(try await database.version() == 1)
    }

    @Test func code65InvalidMigrations() async throws {
        let database = try await TestDatabase()
        let folder = try makeFolder(["0001_a.up.sql": "CREATE TABLE a (id int);\n", "0001_b.up.sql": "CREATE TABLE b (id int);\n"])
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("0001"))
        #expect(try await database.sql("SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')") == "0")
    }

    @Test func code69DatabaseUnreachable() async throws {
        let result = try await schemagate(["migrate", "--database-url", "postgresql://nobody@127.0.0.1:1/none",
                                     "--migrations", try auditFolder(count: 1), "--lock-wait", "1s"])
        #expect(result.status == 69, "\(result.all)")
        #expect(result.stderr.contains("database unreachable"))
    }

    @Test func code70MigrationFailed() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1, extra: ["0002_bad.up.sql": "CREATE TABLE half (id int);\nSELECT 1 / 0;\n"])
        let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(result.status == 70, "\(result.all)")
        #expect(result.stderr.contains("0002_bad.up.sql:2") && result.stderr.contains("division by zero"), "\(result.all)")
        #expect(try await database.version() == 1)
        #expect(try await database.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'half'") == "0")
    }

    /// A live holder: `migrate` gives up after --lock-wait, `rollback` and `repair` wait as long,
    /// `unlock` refuses without --force. All 73, none of them touching the lock or the schema.
    @Test func code73LockHeldByALiveHolder() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "2"]).status == 0)
        try await database.sql(Self.liveForeignLock)
        let commands: [[String]] = [
            ["migrate", "--migrations", folder, "--lock-wait", "1s"],
            ["rollback", "--to", "1", "--migrations", folder, "--lock-wait", "1s"],
            ["repair", "--migrations", folder, "--lock-wait", "1s"],
            ["unlock"],
        ]
        for command in commands {
            let result = try await schemagate(command + ["--database-url", database.url])
            #expect(result.status == 73, "\(command[0]): \(result.all)")
            #expect(result.stderr.contains("host-c pid 9"), "\(command[0]): \(result.stderr)")
        }
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT value->>'owner' FROM schemagate_settings WHERE key = 'migration_lock'") == "busy")
    }

    /// The lock is taken from under a running rollback (held at a gate inside its first step): it
    /// stops, and undoes nothing more.
    @Test func code75RollbackLostTheLock() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3, extra: [
            "0003_step_3.down.sql": StatusSocketTests.Gate.sql + "DROP TABLE step_3;\nDELETE FROM audit WHERE version = 3;\n",
        ])
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        let gate = try await StatusSocketTests.Gate(database)
        // The gate holds the step: its own lock (pg_locks is the whole cluster's), and its lock wait
        // must outlast the test on two busy cores.
        let rollback = try startSchemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", folder, "--ddl-lock-timeout", "5m"])
        try await waitUntil(seconds: 60) {
            try await database.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "1"
        }
        try await database.sql("""
        UPDATE schemagate_settings SET value = value || jsonb_build_object('owner', 'thief', 'expires_at', extract(epoch FROM now()) + 600,
          'session_visible', false) WHERE key = 'migration_lock'
        """)
        try await gate.open()
        let result = await rollback.finished()
        #expect(result.status == 75, "\(result.all)")
        #expect(result.stderr.contains("lost the migration lock"), "\(result.stderr)")
        // Whatever it undid is recorded and consistent; it undid nothing after losing the lock.
        let version = try await database.version()
        #expect(version >= 2, "rolled back to \(version) without the lock")
        #expect(try await database.sql("SELECT count(*) FROM audit") == "\(version)")
        #expect(try await database.sql("SELECT value->>'owner' FROM schemagate_settings WHERE key = 'migration_lock'") == "thief")
    }

    @Test func code77AuthenticationRefused() async throws {
        let database = try await TestDatabase()
        let url = database.server.appURL(database: database.name, password: "wrong-secret")
        let result = try await schemagate(["plan", "--database-url", url, "--migrations", try auditFolder(count: 1)])
        #expect(result.status == 77, "\(result.all)")
        #expect(!result.all.contains("wrong-secret"))
    }

    /// `baseline` over another tool's history: refused (78) when that history is dirty, and 73
    /// when a live holder keeps the lock; neither writes anything.
    @Test func code78BaselineRefusedAnd73ForALiveHolder() async throws {
        let folder = try auditFolder(count: 3)
        let dirty = try await TestDatabase()
        try await dirty.sql("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (2, true);")
        let before = try await dirty.fingerprint()
        let refused = try await schemagate(["baseline", "--from", "golang-migrate", "--database-url", dirty.url, "--migrations", folder])
        #expect(refused.status == 78, "\(refused.all)")
        #expect(refused.stderr.contains("golang-migrate marks version 2 dirty in schema_migrations"))
        #expect(try await dirty.fingerprint() == before)

        let busy = try await TestDatabase()
        try await busy.sql("CREATE TABLE db_migrations (version bigint PRIMARY KEY, name varchar NOT NULL); INSERT INTO db_migrations VALUES (1, 'audit');")
        #expect(try await schemagate(["migrate", "--database-url", busy.url, "--migrations", folder, "--target", "0"]).status == 0)
        try await busy.sql(Self.liveForeignLock)
        let held = try await schemagate(["baseline", "--from", "morph", "--database-url", busy.url, "--migrations", folder, "--lock-wait", "1s"])
        #expect(held.status == 73, "\(held.all)")
        #expect(held.stderr.contains("host-c pid 9"), "\(held.stderr)")
        #expect(try await busy.version() == 0)
        #expect(try await busy.sql("SELECT count(*) FROM schemagate_history") == "0")
    }
}
