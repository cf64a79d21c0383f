import Foundation
import PostgresHarness
import Testing

/// SPEC 9's guarantees with real processes against a real server; assertions are on what the
/// database holds afterwards.
@Suite("fleet coordination", .serialized)
struct FleetTests {
    /// Each version has exactly one audit row and its table, or neither (nothing half-applied),
    /// and the versions present are 1…version.
    func expectExactlyOnce(_ database: TestDatabase, upTo version: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let audit = try database.sql("SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '') FROM audit")
        #expect(audit == (1...max(1, version)).map(String.init).joined(separator: ","), sourceLocation: sourceLocation)
        #expect(try database.sql("SELECT count(*) FROM (SELECT version FROM audit GROUP BY version HAVING count(*) > 1) d") == "0", sourceLocation: sourceLocation)
        #expect(try database.version() == version, sourceLocation: sourceLocation)
        #expect(try database.sql("SELECT count(*) FROM schemagate_history WHERE success AND direction = 'up'") == String(version), sourceLocation: sourceLocation)
        #expect(try database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0", sourceLocation: sourceLocation)
    }

    /// Polls `condition` (errors count as false) every 20ms for up to `seconds`.
    func waitUntil(seconds: Double = 10, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition not met within \(seconds)s")
    }

    /// The failures of a fleet, briefly: how many, and the end of the first one's output.
    func summary(_ failed: [ProcessOutput]) -> String {
        "\(failed.count) failed; first (status \(failed.first?.status ?? 0)): \(String(failed.first?.all.suffix(600) ?? ""))"
    }

    func runFleet(count: Int, url: String, folder: String, extra: [String] = []) async throws -> [ProcessOutput] {
        let processes = try (0..<count).map { _ in
            try startSchemagate(["migrate", "--database-url", url, "--migrations", folder, "--lock-wait", "60s"] + extra)
        }
        var outputs: [ProcessOutput] = []
        for process in processes { outputs.append(await process.finished()) }
        return outputs
    }

    @Test func hundredProcessesApplyEveryMigrationOnceInOrder() async throws {
        for round in 1...5 {
            let database = try TestDatabase()
            let outputs = try await runFleet(count: 100, url: database.url, folder: try auditFolder(count: 10))
            let failed = outputs.filter { $0.status != 0 }
            #expect(failed.isEmpty, "round \(round): \(summary(failed))")
            try expectExactlyOnce(database, upTo: 10)
            #expect(try database.sql("SELECT bool_and(a.at < b.at) FROM audit a JOIN audit b ON b.version = a.version + 1") == "t")
        }
    }

    @Test func hundredProcessesThroughPgBouncerInTransactionPooling() async throws {
        let database = try TestDatabase()
        let bouncer = try PgBouncer(in: database.server)
        defer { bouncer.stop() }
        let outputs = try await runFleet(count: 100, url: bouncer.connectionString(database: database.name), folder: try auditFolder(count: 10))
        let failed = outputs.filter { $0.status != 0 }
        #expect(failed.isEmpty, "\(summary(failed))")
        try expectExactlyOnce(database, upTo: 10)
        // Through the pooler the holder's session cannot be seen: the record says so.
        #expect(try database.sql("SELECT count(*) FROM schemagate_history") == "10")
    }

    /// Three slow migrations; the holder is killed at a random moment; the others finish.
    @Test func holderKilledWithSIGKILLIsReplaced() async throws {
        var takeovers: [Double] = []
        for round in 1...20 {
            let database = try TestDatabase()
            var extra: [String: String] = [:]
            for version in 2...4 {
                extra[String(format: "%04d_step_%d.up.sql", version, version)] =
                    "CREATE TABLE step_\(version) (id int);\nSELECT pg_sleep(0.4);\nINSERT INTO audit (version) VALUES (\(version));\n"
            }
            let folder = try auditFolder(count: 4, extra: extra)
            let processes = try (0..<4).map { _ in
                try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lease", "30s"])
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...1200)))
            let holderPID = Int32(try database.sql("SELECT value->>'pid' FROM schemagate_settings WHERE key = 'migration_lock'")) ?? 0
            let victim = processes.first { $0.pid == holderPID }
            let killedAt = Date()
            victim?.signal(SIGKILL)
            var outputs: [ProcessOutput] = []
            for process in processes { outputs.append(await process.finished()) }
            for (process, output) in zip(processes, outputs) where process !== victim {
                #expect(output.status == 0, "round \(round): \(output.all)")
                if output.stderr.contains("took over the lock") { takeovers.append(Date().timeIntervalSince(killedAt)) }
            }
            if let victim { #expect(outputs[processes.firstIndex { $0 === victim }!].status == 128 + SIGKILL) }
            try expectExactlyOnce(database, upTo: 4)
            #expect(try database.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'step_%'") == "3")
        }
        print("takeover observed in \(takeovers.count) of 20 rounds")
    }

    @Test func killedDuringANoTransactionMigrationIsRecoveredWithItsDownFile() async throws {
        for withDown in [true, false] {
            let database = try TestDatabase()
            var extra = [
                "0002_index.up.sql": "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS audit_at_idx ON audit (at);\nSELECT pg_sleep(5);\nINSERT INTO audit (version) VALUES (2);\n",
            ]
            if withDown {
                extra["0002_index.down.sql"] = "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS audit_at_idx;\nDELETE FROM audit WHERE version = 2;\n"
            }
            let folder = try auditFolder(count: 1, extra: extra)
            let holder = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder])
            try await waitUntil { try database.sql("SELECT value->'dirty'->>'version' FROM schemagate_settings WHERE key = 'schema_version'") == "2" }
            try await Task.sleep(for: .milliseconds(200))
            holder.signal(SIGKILL)
            _ = await holder.finished()
            #expect(try database.sql("SELECT value->'dirty'->>'version' FROM schemagate_settings WHERE key = 'schema_version'") == "2")

            let outputs = try await runFleet(count: 3, url: database.url, folder: folder, extra: ["--lock-wait", "30s"])
            if withDown {
                #expect(outputs.allSatisfy { $0.status == 0 }, "\(summary(outputs.filter { $0.status != 0 }))")
                #expect(outputs.contains { $0.stderr.contains("undoing interrupted no-transaction migration 2") })
                try expectExactlyOnce(database, upTo: 2)
            } else {
                #expect(outputs.allSatisfy { $0.status == 70 }, "\(summary(outputs.filter { $0.status != 70 }))")
                #expect(outputs.allSatisfy { $0.stderr.contains("interrupted and has no down file") && $0.stderr.contains("schemagate repair") })
                #expect(try database.version() == 1)
            }
        }
    }

    @Test func holderPausedPastItsLeaseAppliesNothingAfterResuming() async throws {
        let database = try TestDatabase()
        var extra: [String: String] = [:]
        for version in 2...5 {
            extra[String(format: "%04d_step_%d.up.sql", version, version)] =
                "CREATE TABLE step_\(version) (id int);\nSELECT pg_sleep(0.5);\nINSERT INTO audit (version) VALUES (\(version));\n"
        }
        let folder = try auditFolder(count: 5, extra: extra)
        let lease = ["--lease", "2s"]
        let paused = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder] + lease)
        try await waitUntil { try database.version() >= 2 }
        try await Task.sleep(for: .milliseconds(100))
        paused.signal(SIGSTOP)
        let pausedInstance = try database.sql("SELECT value->>'owner' FROM schemagate_settings WHERE key = 'migration_lock'")
        let appliedBeforePause = Int(try database.sql("SELECT count(*) FROM schemagate_history WHERE instance = '\(pausedInstance)' AND success")) ?? 0

        let successor = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder] + lease)
        let successorOutput = await successor.finished()
        #expect(successorOutput.status == 0, "\(successorOutput.all.suffix(1500))")
        #expect(try database.version() == 5)

        paused.signal(SIGCONT)
        let resumed = await paused.finished()
        #expect([0, 75].contains(resumed.status), "\(resumed.all.suffix(1500))")
        #expect(resumed.stderr.contains("lost the migration lock") || resumed.stderr.contains("interrupted while holding the migration lock"), "\(resumed.all.suffix(1500))")
        let appliedAfter = Int(try database.sql("SELECT count(*) FROM schemagate_history WHERE instance = '\(pausedInstance)' AND success")) ?? 0
        #expect(appliedAfter <= appliedBeforePause + 1, "the paused holder applied \(appliedAfter - appliedBeforePause) after the pause")
        try expectExactlyOnce(database, upTo: 5)
    }

    @Test func serverRestartMidRunConverges() async throws {
        let server = try PostgresServer.dedicated()
        defer { server.stop() }
        let database = try TestDatabase(on: server)
        var extra: [String: String] = [:]
        for version in 2...6 {
            extra[String(format: "%04d_step_%d.up.sql", version, version)] =
                "CREATE TABLE step_\(version) (id int);\nSELECT pg_sleep(0.3);\nINSERT INTO audit (version) VALUES (\(version));\n"
        }
        let folder = try auditFolder(count: 6, extra: extra)
        let processes = try (0..<10).map { _ in
            try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "60s"])
        }
        try await Task.sleep(for: .milliseconds(700))
        try database.server.restart()
        var outputs: [ProcessOutput] = []
        for process in processes { outputs.append(await process.finished()) }
        #expect(outputs.allSatisfy { [0, 75].contains($0.status) }, "\(summary(outputs.filter { ![0, 75].contains($0.status) }))")
        #expect(outputs.filter { $0.status == 75 }.count <= 1)
        #expect(outputs.contains { $0.stderr.contains("retrying") || $0.stderr.contains("interrupted") })
        try expectExactlyOnce(database, upTo: 6)
    }
}
