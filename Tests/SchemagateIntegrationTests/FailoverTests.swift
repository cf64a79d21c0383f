import Foundation
import PostgresHarness
import Synchronization
import Testing

/// A real failover: a primary and a streaming standby (`pg_basebackup -R`), a fleet on a multi-host
/// URL with `target_session_attrs=read-write`, the primary stopped mid-migration as in a crash,
/// the standby promoted. Assertions are on what the new primary holds and on what each instance
/// reported, and when.
@Suite("failover to a promoted standby", .serialized)
struct FailoverTests {
    /// Six migrations; 3 waits at the test's advisory-lock gate, so that the fault lands while a
    /// holder is inside it, and the others take 0.2 s each.
    func gatedFolder() throws -> String {
        var extra: [String: String] = [:]
        for version in 2...6 {
            let middle = version == 3 ? StatusSocketTests.Gate.sql : "SELECT pg_sleep(0.2);\n"
            extra[String(format: "%04d_step_%d.up.sql", version, version)] =
                "CREATE TABLE step_\(version) (id int);\n" + middle + "INSERT INTO audit (version) VALUES (\(version));\n"
        }
        return try auditFolder(count: 6, extra: extra)
    }

    /// Until a holder waits at the gate (inside migration 3).
    func waitForTheGate(_ database: TestDatabase) async throws {
        try await waitUntil(seconds: 60) {
            try await database.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "1"
        }
    }

    /// libpq's multi-host URL over both servers' Unix sockets, in the order given.
    func multiHostURL(_ servers: [PostgresServer], database: String) -> String {
        let hosts = servers.map(\.socketDirectory).joined(separator: ",")
        let ports = servers.map { String($0.port) }.joined(separator: ",")
        return "postgresql:///\(database)?host=\(hosts)&port=\(ports)&user=postgres&target_session_attrs=read-write&connect_timeout=2"
    }

    struct Daemon {
        let process: RunningProcess
        let listener: NotifyListener
        let socket: String
    }

    @Test func theFleetConvergesOnThePromotedStandbyAndAppliesEachMigrationOnce() async throws {
        let primary = try PostgresServer.dedicated()
        defer { primary.stop() }
        let database = try await TestDatabase(on: primary)
        let standby = try primary.startStandby()
        defer { standby.stop() }
        #expect(try await standby.isInRecovery())
        let gate = try await StatusSocketTests.Gate(database)
        let folder = try gatedFolder()
        let url = multiHostURL([primary, standby], database: database.name)
        // One daemon lists the standby first: libpq must skip it while it is read-only.
        let standbyFirst = multiHostURL([standby, primary], database: database.name)

        let migrates = try (0..<4).map { _ in
            try startSchemagate(["migrate", "--database-url", url, "--migrations", folder, "--lock-wait", "60s"])
        }
        let daemons = try [url, url, standbyFirst].map { daemonURL in
            let listener = try NotifyListener()
            let socket = StatusSocketTests.socketPath()
            let process = try startSchemagate(["daemon", "--database-url", daemonURL, "--migrations", folder, "--socket", socket,
                                               "--watch-interval", "200ms", "--lock-wait", "60s"],
                                              environment: ["NOTIFY_SOCKET": listener.path])
            return Daemon(process: process, listener: listener, socket: socket)
        }
        let finishedAt = Mutex<[Int32: Date]>([:])
        let outputs = Task {
            var outputs: [ProcessOutput] = []
            for process in migrates {
                let output = await process.finished()
                finishedAt.withLock { $0[process.pid] = Date() }
                outputs.append(output)
            }
            return outputs
        }

        // Mid-migration: a holder is inside migration 3. The gate's session ends with the primary,
        // so on the new primary migration 3 runs straight through.
        try await waitForTheGate(database)
        _ = gate
        let versionAtStop = try await database.version()
        let holderAtStop = try await database.sql("SELECT value->>'owner' FROM schemagate_settings WHERE key = 'migration_lock'")
        try await primary.stopImmediately()
        // An outage: the primary is gone and the standby refuses read-write sessions.
        try await Task.sleep(for: .milliseconds(1500))
        #expect(finishedAt.withLock { $0.isEmpty }, "a migrate finished while no primary existed")
        #expect(daemons.allSatisfy { !$0.listener.lines.contains("READY=1") }, "a daemon said READY=1 while no primary existed")
        let promotedAt = Date()
        try await standby.promote()
        let newPrimary = TestDatabase.existing(database.name, on: standby)

        for (process, output) in zip(migrates, await outputs.value) {
            #expect(output.status == 0, "migrate \(process.pid): \(output.all.suffix(1500))")
        }
        for daemon in daemons {
            #expect(await daemon.listener.waitFor(seconds: 60) { $0 == "READY=1" }, "daemon \(daemon.process.pid): \(daemon.listener.lines.suffix(8))")
            // Nobody reported ready before the standby was promoted: not on the stopped primary
            // (below the target), not on the read-only standby.
            if let readyAt = daemon.listener.timeOf({ $0 == "READY=1" }) {
                #expect(readyAt >= promotedAt, "daemon \(daemon.process.pid) said READY=1 \(promotedAt.timeIntervalSince(readyAt))s before the promotion")
            }
            let status = try await ProcessRunner.run(["/usr/bin/curl", "-sS", "--max-time", "10", "--unix-socket", daemon.socket, "http://localhost/status"])
            let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            #expect(json?["ready"] as? Bool == true, "\(status.all)")
            #expect(json?["current_version"] as? Int == 6, "\(status.all)")
            daemon.process.signal(SIGTERM)
            let output = await daemon.process.finished()
            #expect(output.status == 0, "daemon \(daemon.process.pid): \(output.all.suffix(1500))")
        }
        #expect(finishedAt.withLock { $0.values.allSatisfy { $0 >= promotedAt } })

        // The new primary holds each migration exactly once, and no lock.
        #expect(try await newPrimary.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM audit") == "1,2,3,4,5,6")
        #expect(try await newPrimary.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'step_%'") == "5")
        #expect(try await newPrimary.version() == 6)
        #expect(try await newPrimary.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schemagate_history WHERE success AND direction = 'up'") == "1,2,3,4,5,6")
        #expect(try await newPrimary.sql("SELECT count(*) FROM schemagate_history WHERE NOT success") == "0")
        #expect(try await newPrimary.sql("SELECT count(*) FROM schemagate_settings WHERE key IN ('migration_lock', 'last_failure')") == "0")
        #expect(versionAtStop == 2 && !holderAtStop.isEmpty, "the primary was stopped at version \(versionAtStop), not inside migration 3")
    }

    /// A switchover often makes the old primary read-only first (`default_transaction_read_only`,
    /// reloaded into live sessions). The holder's next write fails with SQLSTATE 25006: that is
    /// the server's state, not the migration's failure. It reconnects and carries on once the
    /// server accepts writes again; nothing is recorded as failed, nothing runs twice.
    @Test func aServerThatTurnsReadOnlyMidRunIsReconnectedNotAFailedMigration() async throws {
        let server = try PostgresServer.dedicated()
        defer { server.stop() }
        let database = try await TestDatabase(on: server)
        let gate = try await StatusSocketTests.Gate(database)
        let folder = try gatedFolder()
        let migrates = try (0..<3).map { _ in
            try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "60s"])
        }
        try await waitForTheGate(database)
        try await server.psql("postgres", "ALTER SYSTEM SET default_transaction_read_only = on")
        try await server.psql("postgres", "SELECT pg_reload_conf()")
        // Migration 3 began read-write and commits; the next fence cannot write.
        try await gate.open()
        try await waitUntil(seconds: 30) { try await database.version() == 3 }
        try await Task.sleep(for: .milliseconds(1000))
        let stuckAt = try await database.version()
        #expect(stuckAt == 3, "the fleet kept migrating on a read-only server")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE NOT success") == "0")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'last_failure'") == "0")
        // Meanwhile a one-shot run with a short --lock-wait gives up with the reason, unchanged.
        let before = try await database.fingerprint()
        let impatient = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "2s"])
        #expect(impatient.status == 69, "\(impatient.all)")
        #expect(impatient.stderr.contains("SQLSTATE 25006") && impatient.stderr.contains("target_session_attrs=read-write"), "\(impatient.all)")
        #expect(try await database.fingerprint() == before)
        #expect(try await database.version() == stuckAt)

        try await server.psql("postgres", "ALTER SYSTEM RESET default_transaction_read_only")
        try await server.psql("postgres", "SELECT pg_reload_conf()")
        for process in migrates {
            let output = await process.finished()
            #expect(output.status == 0, "\(output.all.suffix(1500))")
        }
        try await FleetTests().expectExactlyOnce(database, upTo: 6)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE NOT success") == "0")
    }
}
