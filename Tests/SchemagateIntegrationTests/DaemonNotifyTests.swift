import Foundation
import PostgresHarness
import PQ
import Testing

/// `schemagate daemon` seen from systemd's side: the exact sd_notify messages, through a datagram
/// socket bound as `NOTIFY_SOCKET`.
@Suite("daemon: sd_notify, signals, watchdog")
struct DaemonNotifyTests {
    func startDaemon(_ database: TestDatabase, folder: String, listener: NotifyListener, extra: [String] = [], environment: [String: String] = [:]) throws -> RunningProcess {
        try startSchemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--watch-interval", "200ms"] + extra,
                            environment: ["NOTIFY_SOCKET": listener.path].merging(environment) { $1 })
    }

    /// Waits for READY=1; on a timeout records the daemon's own output, which says why.
    func expectReady(_ listener: NotifyListener, _ daemon: RunningProcess, sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
        if await listener.waitFor({ $0 == "READY=1" }) { return true }
        daemon.signal(SIGTERM)
        let output = await daemon.finished()
        Issue.record("no READY=1; notify lines: \(listener.lines.suffix(10)); daemon: \(output.all.suffix(2000))", sourceLocation: sourceLocation)
        return false
    }

    @Test func fastPathIsReadyAtOnceAndStopsOnSIGTERM() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener)
        guard await expectReady(listener, daemon) else { return }
        #expect(listener.lines.first == "STATUS=starting")
        #expect(listener.lines.contains("STATUS=ready: schema at 2"))
        #expect(!listener.lines.contains { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") })
        daemon.signal(SIGTERM)
        let output = await daemon.finished()
        #expect(output.status == 0, "\(output.all)")
        #expect(listener.lines.contains("STOPPING=1"))
    }

    @Test func migratesWithStatusAndExtensionsThenReady() async throws {
        let database = try await TestDatabase()
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: exampleMigrations, listener: listener)
        guard await expectReady(listener, daemon) else { return }
        let lines = listener.lines
        let ready = lines.firstIndex(of: "READY=1")!
        let applying = lines.firstIndex(of: "STATUS=applying 0004_add_user_status (4 of 4)")
        #expect(applying != nil && applying! < ready, "\(lines)")
        #expect(lines.contains("STATUS=applying 0001_create_users (1 of 4)"))
        #expect(lines[..<ready].contains { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") })
        #expect(lines[ready + 1] == "STATUS=ready: schema at 4", "READY=1 and its STATUS come in one datagram")
        #expect(try await database.version() == 4)
        daemon.signal(SIGTERM)
        #expect(await daemon.finished().status == 0)
    }

    @Test func waitsOnALiveHolderThenTakesOverAfterTheLease() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        _ = try await schemagate(["plan", "--database-url", database.url, "--migrations", folder])
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"]).status == 0)
        try await database.sql("""
        INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'busy', 'host', 'host-b', 'pid', 812,
          'taken_at', extract(epoch FROM now()), 'expires_at', extract(epoch FROM now()) + 5, 'session_visible', false))
        """)
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener)
        #expect(await listener.waitFor { $0.hasPrefix("STATUS=waiting for lock held by host-b pid 812 for ") })
        guard await expectReady(listener, daemon) else { return }
        let lines = listener.lines
        #expect(lines[..<lines.firstIndex(of: "READY=1")!].contains { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") })
        #expect(lines.contains("STATUS=took over the lock from a dead holder"))
        daemon.signal(SIGTERM)
        #expect(await daemon.finished().status == 0)
    }

    @Test func aFailedMigrationNeverSaysReadyAndExitsNonZero() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1, extra: ["0002_bad.up.sql": "SELEC 1;\n"])
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener)
        let output = await daemon.finished()
        #expect(output.status == 70, "\(output.all)")
        #expect(!listener.lines.contains("READY=1"))
        #expect(listener.lines.contains { $0.hasPrefix("STATUS=failed: ") && $0.contains("0002_bad.up.sql:1:1") })
        #expect(output.stderr.contains("schemagate: ") && output.stderr.contains("0002_bad.up.sql"))
    }

    @Test func sighupReloadsTheFolderAndMigratesToTheNewTarget() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener)
        guard await expectReady(listener, daemon) else { return }
        try "CREATE TABLE step_3 (id int);\nINSERT INTO audit (version) VALUES (3);\n".write(toFile: folder + "/0003_step_3.up.sql", atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(await listener.waitFor { $0 == "RELOADING=1" })
        #expect(await listener.waitFor { $0 == "STATUS=ready: schema at 3" })
        let lines = listener.lines
        let reloading = lines.firstIndex(of: "RELOADING=1")!
        #expect(lines[reloading + 1].hasPrefix("MONOTONIC_USEC="))
        #expect(lines[reloading...].contains("READY=1"))
        #expect(try await database.version() == 3)
        daemon.signal(SIGTERM)
        #expect(await daemon.finished().status == 0)
    }

    /// `systemctl reload` (or stop) the moment the unit turned active: the signal is sent from
    /// the listener's thread as READY=1 arrives, many times over, and must never end the
    /// process by the signal's default action.
    @Test func aSignalTheMomentReadyArrivesIsHandled() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        for round in 1...20 {
            let signal = round % 4 == 0 ? SIGTERM : SIGHUP
            let listener = try NotifyListener()
            let daemon = try startDaemon(database, folder: folder, listener: listener)
            let pid = daemon.pid
            listener.onEachMessage { message in
                if message.split(separator: "\n").contains("READY=1") { kill(pid, signal) }
            }
            guard await expectReady(listener, daemon) else { return }
            if signal == SIGHUP {
                #expect(await listener.waitFor(seconds: 20) { $0 == "RELOADING=1" }, "round \(round): \(listener.lines)")
                listener.onEachMessage { _ in }
                #expect(await listener.waitFor(seconds: 20) { _ in listener.lines.filter { $0 == "READY=1" }.count >= 2 }, "round \(round): \(listener.lines)")
                daemon.signal(SIGTERM)
            }
            let output = await daemon.finished()
            #expect(output.status == 0, "round \(round), signal \(signal): \(output.all.suffix(800))")
            #expect(listener.lines.contains("STOPPING=1"), "round \(round): \(listener.lines)")
        }
    }

    /// SIGTERM while `CREATE INDEX CONCURRENTLY` runs: it cannot be rolled back, so the daemon
    /// says so, leaves the version marked, and the next holder undoes it with the down file
    /// and applies it again; no INVALID index is left.
    @Test func sigtermDuringANoTransactionMigrationIsLoggedAndRecovered() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1, extra: [
            "0002_index.up.sql": "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY audit_at_idx ON audit (at);\nINSERT INTO audit (version) VALUES (2);\n",
            "0002_index.down.sql": "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS audit_at_idx;\nDELETE FROM audit WHERE version = 2;\n",
        ])
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"]).status == 0)
        // An old snapshot holds CREATE INDEX CONCURRENTLY in its wait phase, its index INVALID.
        let blocker = try await Connection.connect(ConnectionString(database.url))
        _ = try await blocker.query("BEGIN ISOLATION LEVEL REPEATABLE READ")
        _ = try await blocker.query("SELECT count(*) FROM audit")
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener)
        for _ in 0..<500 {
            if try await database.sql("SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass('audit_at_idx') AND NOT indisvalid") == "1" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await database.sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == "1")
        daemon.signal(SIGTERM)
        let output = await daemon.finished()
        _ = try await blocker.query("ROLLBACK")
        blocker.close()
        #expect(output.status == 0, "\(output.all)")
        #expect(output.stderr.contains("stopped during no-transaction migration 0002_index") && output.stderr.contains("undoes it with its down file"),
                "\(output.stderr)")
        #expect(!listener.lines.contains("READY=1"))
        #expect(try await database.sql("SELECT value->'dirty'->>'version' FROM schemagate_settings WHERE key = 'schema_version'") == "2")
        let next = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(next.status == 0, "\(next.all)")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == "0")
        #expect(try await database.sql("SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass('audit_at_idx')") == "1")
        #expect(try await database.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2")
    }

    /// A reload that meets a bad file: `schemagate reload` (the unit's ExecReload=) exits with
    /// the same code as the daemon, 65, and names the file.
    @Test func aReloadWithABadFileExitsLikeTheDaemon() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1)
        let state = "/tmp/sg-state-\(UUID().uuidString.prefix(8))"
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener, extra: ["--state-file", state])
        guard await expectReady(listener, daemon) else { return }
        // A down file without its up is still refused (titles with capitals and dots are not).
        try "SELECT 1;\n".write(toFile: folder + "/0002_orphan.down.sql", atomically: true, encoding: .utf8)
        let reload = try await schemagate(["reload", "--pid", String(daemon.pid), "--state-file", state, "--timeout", "30s"])
        let output = await daemon.finished()
        #expect(output.status == 65, "\(output.all.suffix(800))")
        #expect(reload.status == 65, "\(reload.all)")
        #expect(reload.stderr.contains("0002_orphan.down.sql"), "\(reload.stderr)")
    }

    @Test func sigtermMidMigrationRollsBackAndReleasesTheLock() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1, extra: ["0002_slow.up.sql": "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\nINSERT INTO audit (version) VALUES (2);\n"])
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener)
        #expect(await listener.waitFor { $0 == "STATUS=applying 0002_slow (2 of 2)" })
        try await Task.sleep(for: .milliseconds(300))
        let started = Date()
        daemon.signal(SIGTERM)
        let output = await daemon.finished()
        #expect(output.status == 0, "\(output.all)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(listener.lines.contains("STOPPING=1"))
        #expect(!listener.lines.contains("READY=1"))
        #expect(try await database.version() == 1)
        #expect(try await database.sql("SELECT to_regclass('slow') IS NULL") == "t")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
    }

    @Test func watchdogPingsAtHalfTheInterval() async throws {
        let database = try await TestDatabase()
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: try auditFolder(count: 1), listener: listener,
                                     environment: ["WATCHDOG_USEC": "400000"])
        guard await expectReady(listener, daemon) else { return }
        try await Task.sleep(for: .seconds(1.5))
        let pings = listener.lines.filter { $0 == "WATCHDOG=1" }.count
        #expect(pings >= 4, "\(pings) pings in 1.5 s")
        daemon.signal(SIGTERM)
        #expect(await daemon.finished().status == 0)
    }

    @Test func regressionMakesItNotReadyAndCanExit() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        let listener = try NotifyListener()
        let daemon = try startDaemon(database, folder: folder, listener: listener, extra: ["--on-regression", "exit"])
        guard await expectReady(listener, daemon) else { return }
        // --force: the live daemon needs version 2, so the fleet guard would refuse.
        #expect(try await schemagate(["rollback", "--to", "1", "--force", "--database-url", database.url, "--migrations", folder]).status == 0)
        #expect(await listener.waitFor { $0 == "STATUS=not ready: schema at 1, behind target 2" })
        let output = await daemon.finished()
        #expect(output.status == 3, "\(output.all)")
        #expect(output.stderr.contains("behind target 2"))
    }
}
