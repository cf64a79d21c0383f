import Foundation
import PostgresHarness
import Testing

/// The fleet's guarantees (never twice, never half, nothing lost) with real processes against a real server; assertions are on what the
/// database holds afterwards.
@Suite("fleet coordination", .serialized)
struct FleetTests {
    /// Each version has exactly one audit row and its table, or neither (nothing half-applied),
    /// and the versions present are 1…version.
    func expectExactlyOnce(_ database: TestDatabase, upTo version: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let audit = try await database.sql("SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '') FROM audit")
        #expect(audit == (1...max(1, version)).map(String.init).joined(separator: ","), sourceLocation: sourceLocation)
        #expect(try await database.sql("SELECT count(*) FROM (SELECT version FROM audit GROUP BY version HAVING count(*) > 1) d") == "0", sourceLocation: sourceLocation)
        #expect(try await database.version() == version, sourceLocation: sourceLocation)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE success AND direction = 'up'") == String(version), sourceLocation: sourceLocation)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0", sourceLocation: sourceLocation)
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
            let database = try await TestDatabase()
            let outputs = try await runFleet(count: 100, url: database.url, folder: try auditFolder(count: 10))
            let failed = outputs.filter { $0.status != 0 }
            #expect(failed.isEmpty, "round \(round): \(summary(failed))")
            try await expectExactlyOnce(database, upTo: 10)
            #expect(try await database.sql("SELECT bool_and(a.at < b.at) FROM audit a JOIN audit b ON b.version = a.version + 1") == "t")
        }
    }

    @Test func hundredProcessesThroughPgBouncerInTransactionPooling() async throws {
        let database = try await TestDatabase()
        let bouncer = try PgBouncer(in: database.server)
        defer { bouncer.stop() }
        let outputs = try await runFleet(count: 100, url: bouncer.connectionString(database: database.name), folder: try auditFolder(count: 10))
        let failed = outputs.filter { $0.status != 0 }
        #expect(failed.isEmpty, "\(summary(failed))")
        try await expectExactlyOnce(database, upTo: 10)
        // Through the pooler the holder's session cannot be seen: the record says so.
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history") == "10")
    }

    /// Three slow migrations; the holder is killed at a random moment; the others finish.
    @Test func holderKilledWithSIGKILLIsReplaced() async throws {
        var takeovers: [Double] = []
        for round in 1...20 {
            let database = try await TestDatabase()
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
            // Under load the tables may not exist yet: then there is no holder to kill this round.
            let holder = ((try? await database.sql("SELECT value->>'pid' || ' ' || (value->>'owner') FROM schemagate_settings WHERE key = 'migration_lock'")) ?? "")
                .split(separator: " ").map(String.init)
            let holderPID = Int32(holder.first ?? "") ?? 0
            let holderInstance = holder.count > 1 ? holder[1] : ""
            let victim = processes.first { $0.pid == holderPID }
            let killedAt = Date()
            victim?.signal(SIGKILL)
            // Read once the victim is dead: below the target, someone must take its lock over.
            let versionAfterKill = victim == nil ? 4 : (Int(try await database.sql("SELECT value->>'version' FROM schemagate_settings WHERE key = 'schema_version'")) ?? 0)
            var outputs: [ProcessOutput] = []
            for process in processes { outputs.append(await process.finished()) }
            var takersThisRound = 0
            for (process, output) in zip(processes, outputs) where process !== victim {
                #expect(output.status == 0, "round \(round): \(output.all)")
                if output.stderr.contains("took over the lock") {
                    takersThisRound += 1
                    takeovers.append(Date().timeIntervalSince(killedAt))
                }
            }
            if versionAfterKill < 4 {
                // Unless the victim's last migration was already on its way: its SQL, version move
                // and COMMIT go as one text, which the server runs to the end. Then the target is
                // reached without a takeover, and a finisher clears the dead holder's record.
                let victimFinished = try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 4 AND instance = '\(holderInstance)'") == "1"
                #expect(takersThisRound == (victimFinished ? 0 : 1),
                        "round \(round): killed at version \(versionAfterKill), \(takersThisRound) took over, the victim finished 4: \(victimFinished)")
            } else {
                #expect(takersThisRound <= 1, "round \(round): \(takersThisRound) took over")
            }
            if let victim { #expect(outputs[processes.firstIndex { $0 === victim }!].status == 128 + SIGKILL) }
            try await expectExactlyOnce(database, upTo: 4)
            #expect(try await database.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'step_%'") == "3")
        }
        // The sampling lands mid-run in most rounds (150–1200 ms into ~1.4 s of migrations).
        #expect(takeovers.count >= 5, "takeover observed in only \(takeovers.count) of 20 rounds")
    }

    @Test func killedDuringANoTransactionMigrationIsRecoveredWithItsDownFile() async throws {
        for withDown in [true, false] {
            let database = try await TestDatabase()
            var extra = [
                "0002_index.up.sql": "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS audit_at_idx ON audit (at);\nSELECT pg_sleep(5);\nINSERT INTO audit (version) VALUES (2);\n",
            ]
            if withDown {
                extra["0002_index.down.sql"] = "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS audit_at_idx;\nDELETE FROM audit WHERE version = 2;\n"
            }
            let folder = try auditFolder(count: 1, extra: extra)
            let holder = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder])
            try await waitUntil { try await database.sql("SELECT value->'dirty'->>'version' FROM schemagate_settings WHERE key = 'schema_version'") == "2" }
            // Past the index build, inside the sleep: half of the migration is done.
            try await waitUntil(seconds: 60) {
                try await database.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(5)%'") == "1"
            }
            holder.signal(SIGKILL)
            _ = await holder.finished()
            #expect(try await database.sql("SELECT value->'dirty'->>'version' FROM schemagate_settings WHERE key = 'schema_version'") == "2")

            let outputs = try await runFleet(count: 3, url: database.url, folder: folder, extra: ["--lock-wait", "30s"])
            if withDown {
                #expect(outputs.allSatisfy { $0.status == 0 }, "\(summary(outputs.filter { $0.status != 0 }))")
                #expect(outputs.contains { $0.stderr.contains("undoing interrupted no-transaction migration 2") })
                try await expectExactlyOnce(database, upTo: 2)
            } else {
                #expect(outputs.allSatisfy { $0.status == 70 }, "\(summary(outputs.filter { $0.status != 70 }))")
                #expect(outputs.allSatisfy { $0.stderr.contains("interrupted and has no down file") && $0.stderr.contains("schemagate repair") })
                #expect(try await database.version() == 1)
            }
        }
    }

    @Test func holderPausedPastItsLeaseAppliesNothingAfterResuming() async throws {
        let database = try await TestDatabase()
        var extra: [String: String] = [:]
        for version in 2...5 {
            extra[String(format: "%04d_step_%d.up.sql", version, version)] =
                "CREATE TABLE step_\(version) (id int);\nSELECT pg_sleep(1);\nINSERT INTO audit (version) VALUES (\(version));\n"
        }
        let folder = try auditFolder(count: 5, extra: extra)
        let lease = ["--lease", "2s"]
        let paused = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder] + lease)
        try await waitUntil { try await database.version() >= 2 }
        // Inside a later migration's sleep, so the pause lands mid-transaction.
        try await waitUntil(seconds: 60) {
            try await database.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(1);%'") == "1"
        }
        paused.signal(SIGSTOP)
        // What was already on its way when the signal landed settles before counting: a
        // transaction migration goes as one text with its version move and COMMIT, so the
        // server may still be running it (a pg_sleep here) for the stopped holder.
        try await Task.sleep(for: .milliseconds(300))
        try await waitUntil {
            try await database.sql("""
                SELECT count(*) FROM pg_stat_activity WHERE state = 'active'
                AND pid = (SELECT (value->>'backend_pid')::int FROM schemagate_settings WHERE key = 'migration_lock')
                """) == "0"
        }
        let pausedInstance = try await database.sql("SELECT value->>'owner' FROM schemagate_settings WHERE key = 'migration_lock'")
        let appliedBeforePause = await Int(try database.sql("SELECT count(*) FROM schemagate_history WHERE instance = '\(pausedInstance)' AND success")) ?? 0

        let successor = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder] + lease)
        let successorOutput = await successor.finished()
        #expect(successorOutput.status == 0, "\(successorOutput.all.suffix(1500))")
        #expect(try await database.version() == 5)

        paused.signal(SIGCONT)
        let resumed = await paused.finished()
        // The successor ended the paused holder's session before touching anything: on waking it
        // finds its connection gone, applies nothing more, and waits for the target like anyone.
        #expect(resumed.status == 0, "\(resumed.all.suffix(1500))")
        #expect(resumed.stderr.contains("interrupted while holding the migration lock"), "\(resumed.all.suffix(1500))")
        #expect(successorOutput.stderr.contains("ended the session of the former holder"), "\(successorOutput.all.suffix(1500))")
        let appliedAfter = Int(try await database.sql("SELECT count(*) FROM schemagate_history WHERE instance = '\(pausedInstance)' AND success")) ?? 0
        #expect(appliedAfter == appliedBeforePause, "the paused holder applied \(appliedAfter - appliedBeforePause) after the pause")
        try await expectExactlyOnce(database, upTo: 5)
    }

    @Test func serverRestartMidRunConverges() async throws {
        let server = try PostgresServer.dedicated()
        defer { server.stop() }
        let database = try await TestDatabase(on: server)
        var extra: [String: String] = [:]
        for version in 2...6 {
            extra[String(format: "%04d_step_%d.up.sql", version, version)] =
                "CREATE TABLE step_\(version) (id int);\nSELECT pg_sleep(0.5);\nINSERT INTO audit (version) VALUES (\(version));\n"
        }
        let folder = try auditFolder(count: 6, extra: extra)
        let processes = try (0..<10).map { _ in
            try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lock-wait", "60s"])
        }
        // Restart while a holder holds the lock (about 2.5 s of migrations) and the others wait.
        try await waitUntil(seconds: 60) {
            try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "1"
        }
        try await database.server.restart()
        var outputs: [ProcessOutput] = []
        for process in processes { outputs.append(await process.finished()) }
        // The holder whose connection broke rejoins the waiters: everyone ends at the target.
        #expect(outputs.allSatisfy { $0.status == 0 }, "\(summary(outputs.filter { $0.status != 0 }))")
        #expect(outputs.contains { $0.stderr.contains("retrying") || $0.stderr.contains("interrupted") })
        try await expectExactlyOnce(database, upTo: 6)
    }

    /// A holder paused past its lease in the middle of a no-transaction migration must send
    /// nothing more once it wakes: the successor ends its session, undoes the half-done
    /// migration with its down file and applies it again, and every statement ran once per
    /// application.
    @Test func aPausedHolderSendsNoMoreNoTransactionStatements() async throws {
        let database = try await TestDatabase()
        try await database.sql("CREATE TABLE exec_log (id serial, tag text, backend int)")
        let step = { (tag: String) in "INSERT INTO exec_log (tag, backend) VALUES ('\(tag)', pg_backend_pid());\n" }
        let folder = try auditFolder(count: 1, extra: [
            "0002_steps.up.sql": "-- schemagate: no-transaction\n" + step("a") + "SELECT pg_sleep(1.5);\n" + step("b") + "SELECT pg_sleep(0.2);\n" + step("c")
                + "INSERT INTO audit (version) VALUES (2);\n",
            "0002_steps.down.sql": "-- schemagate: no-transaction\n" + step("undo") + "DELETE FROM audit WHERE version = 2;\n",
        ])
        let lease = ["--lease", "2s"]
        let paused = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder] + lease)
        try await waitUntil { try await database.sql("SELECT count(*) FROM exec_log") == "1" }
        paused.signal(SIGSTOP)
        let pausedBackend = try await database.sql("SELECT backend FROM exec_log WHERE tag = 'a'")

        let successor = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder] + lease)
        let successorOutput = await successor.finished()
        #expect(successorOutput.status == 0, "\(successorOutput.all.suffix(1500))")
        paused.signal(SIGCONT)
        let resumed = await paused.finished()
        #expect(resumed.status == 0, "\(resumed.all.suffix(1500))")

        #expect(try await database.sql("SELECT string_agg(tag, ',' ORDER BY id) FROM exec_log WHERE backend = \(pausedBackend)") == "a")
        #expect(try await database.sql("SELECT string_agg(tag, ',' ORDER BY id) FROM exec_log WHERE backend <> \(pausedBackend)") == "undo,a,b,c")
        try await expectExactlyOnce(database, upTo: 2)
    }

    /// `unlock --force` under a running holder: the holder's fence finds the lock gone, and it
    /// (daemon or one-shot migrate) waits for the target again instead of exiting 75.
    @Test func aForcedUnlockMakesTheHolderRejoinNotExit() async throws {
        for command in ["migrate", "daemon"] {
            let database = try await TestDatabase()
            let gate = try await StatusSocketTests.Gate(database)
            let folder = try auditFolder(count: 1, extra: [
                "0002_slow.up.sql": StatusSocketTests.Gate.sql + "INSERT INTO audit (version) VALUES (2);\n",
                "0003_next.up.sql": "INSERT INTO audit (version) VALUES (3);\n",
            ])
            let listener = try NotifyListener()
            let holder = try startSchemagate([command, "--database-url", database.url, "--migrations", folder, "--ddl-lock-timeout", "5m"]
                                             + (command == "daemon" ? ["--socket", StatusSocketTests.socketPath()] : []),
                                             environment: ["NOTIFY_SOCKET": listener.path])
            try await waitUntil { try await database.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "1" }
            let unlock = try await schemagate(["unlock", "--force", "--database-url", database.url])
            #expect(unlock.status == 0, "\(unlock.all)")
            try await gate.open()
            if command == "daemon" {
                #expect(await listener.waitFor { $0 == "READY=1" }, "\(command)")
                holder.signal(SIGTERM)
            }
            let output = await holder.finished()
            #expect(output.status == 0, "\(command): \(output.all.suffix(1500))")
            // 0002 commits under its own version-row lock; 0003's fence finds the lock gone.
            #expect(output.stderr.contains("lost the migration lock"), "\(command): \(output.stderr.suffix(1500))")
            try await expectExactlyOnce(database, upTo: 3)
        }
    }
}
