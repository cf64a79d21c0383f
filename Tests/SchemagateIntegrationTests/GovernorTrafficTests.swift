import Foundation
import PQ
import PostgresHarness
import Testing

/// The lock-impact governor against real traffic: pgbench reads and updates the table a migration
/// alters, with every transaction's latency logged, while a long reader, a table rewrite or a
/// concurrent index build would otherwise stall it. Assertions are on pgbench's own latencies and
/// on what the database holds.
@Suite("lock-impact governor under pgbench traffic", .serialized)
struct GovernorTrafficTests {
    static let maxBlock = 0.2
    /// What the governor allows a transaction to wait: `--max-block` + 100 ms, plus 250 ms for two
    /// cores shared with other builds (sampling every 50 ms, the cancel round trip, pgbench's own
    /// 10 ms pause in each transaction, scheduling).
    static let allowedWait = maxBlock + 0.1 + 0.25

    /// Each transaction reads and updates one row of `table`, then pauses 10 ms (which keeps four
    /// clients from taking both cores; the pause counts in the logged latency).
    static func script(_ table: String, rows: Int) -> String {
        """
        \\set id random(1, \(rows))
        BEGIN;
        SELECT * FROM \(table) WHERE id = :id;
        UPDATE \(table) SET qty = qty + 1 WHERE id = :id;
        END;
        \\sleep 10 ms
        """
    }

    func ordersDatabase(rows: Int = 1000) async throws -> (TestDatabase, String) {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        try await database.sql("CREATE TABLE orders (id int PRIMARY KEY, qty int NOT NULL DEFAULT 0); INSERT INTO orders (id) SELECT generate_series(1, \(rows))")
        return (database, folder)
    }

    /// A session that reads `orders` in a transaction and stays idle in it, as a forgotten
    /// report or a stuck request would.
    func longReader(_ database: TestDatabase) async throws -> (connection: Connection, pid: String) {
        let reader = try await Connection.connect(ConnectionString(database.url), applicationName: "long-reader")
        let pid = try await reader.query("SELECT pg_backend_pid() AS pid").first?["pid"] ?? "?"
        try await reader.query("BEGIN")
        try await reader.query("SELECT count(*) FROM orders")
        return (reader, pid)
    }

    func epoch(_ database: TestDatabase, _ sql: String) async throws -> Double {
        Double(try await database.sql("SELECT extract(epoch FROM (\(sql)))")) ?? .nan
    }

    /// A reader holds its transaction open for 5 s while the migration adds a column. With the
    /// governor no pgbench transaction waits much beyond max-block and the migration commits soon
    /// after the reader ends, once; with allow-blocking pgbench stalls for the reader's remaining time.
    @Test(arguments: [false, true])
    func blockedByALongReader(allowBlocking: Bool) async throws {
        let (database, folder) = try await ordersDatabase()
        try ((allowBlocking ? "-- schemagate: allow-blocking\n" : "") + "ALTER TABLE orders ADD COLUMN note text;\nINSERT INTO audit (version) VALUES (2);\n")
            .write(toFile: folder + "/0002_note.up.sql", atomically: true, encoding: .utf8)
        let traffic = try Pgbench(database.server, database: database.name, script: Self.script("orders", rows: 1000), seconds: 12)
        try await Task.sleep(for: .seconds(1))
        let reader = try await longReader(database).connection
        let migrationStart = Date().timeIntervalSince1970
        let migrate = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder,
                                           "--max-block", "200ms", "--lock-wait", "60s"])
        try await Task.sleep(for: .seconds(5))
        // The server's clock, one round trip before the lock goes: a busy test process may see
        // COMMIT return well after the migration got its lock.
        let readerEnd = Double(try await reader.query("SELECT extract(epoch FROM clock_timestamp()) AS now").first?["now"] ?? "") ?? .nan
        try await reader.query("COMMIT")
        reader.close()
        let result = await migrate.finished()
        let load = try await traffic.finished()
        #expect(result.status == 0, "\(result.all)")
        #expect(load.everyClientSurvived, "\(load.output.all)")
        #expect(load.transactions.count > 100, "pgbench ran only \(load.transactions.count) transactions")
        // The traffic must have run across the whole migration window, or nothing was proven.
        #expect(load.transactions.contains { $0.end > readerEnd }, "pgbench ended before the reader did")
        #expect(try await database.sql("SELECT count(*) FROM audit WHERE version = 2") == "1")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'") == "1")
        let committed = try await epoch(database, "SELECT at FROM audit WHERE version = 2")
        let stall = load.longest(during: migrationStart...readerEnd)
        if allowBlocking {
            // Without the governor the ALTER queues behind the reader and pgbench behind the ALTER.
            let remaining = readerEnd - migrationStart
            #expect(stall > remaining - 1.0 && stall < remaining + 1.5, "stall \(stall)s, reader's remaining time \(remaining)s")
            #expect(!result.stderr.contains("cancelled our own statement"))
        } else {
            #expect(stall < Self.allowedWait, "a pgbench transaction waited \(stall)s with --max-block 200ms")
            #expect(load.longest < Self.allowedWait, "longest pgbench transaction \(load.longest)s")
            #expect(result.stderr.contains("cancelled our own statement"), "\(result.stderr)")
            #expect(result.stderr.contains("application long-reader"), "\(result.stderr)")
            // Within about a second of the reader's end (the backoff tops out at 800 ms); 0.5 s
            // more for two busy cores.
            #expect(committed - readerEnd < 1.5 && committed > readerEnd - 0.1, "committed \(committed - readerEnd)s after the reader ended")
        }
    }

    /// A reader that never ends within the retries: the migration fails (70), recorded, naming the
    /// reader and how many sessions waited; the table is unchanged; nobody else was cancelled.
    /// Through PgBouncer (transaction pooling) too: the watch asks the server for our backend's
    /// pid, since the one libpq knows is the pooler's.
    @Test(arguments: [false, true])
    func retriesRunOutBehindAReaderAndTheFailureNamesIt(throughPgBouncer: Bool) async throws {
        let (database, folder) = try await ordersDatabase()
        let bouncer = throughPgBouncer ? try PgBouncer(in: database.server) : nil
        defer { bouncer?.stop() }
        let url = bouncer?.connectionString(database: database.name) ?? database.url
        try "ALTER TABLE orders ADD COLUMN note text;\n".write(toFile: folder + "/0002_note.up.sql", atomically: true, encoding: .utf8)
        let traffic = try Pgbench(database.server, database: database.name, script: Self.script("orders", rows: 1000), seconds: 6)
        try await Task.sleep(for: .milliseconds(500))
        let (reader, readerPID) = try await longReader(database)
        let result = try await startSchemagate(["migrate", "--database-url", url, "--migrations", folder,
                                                "--max-block", "200ms", "--max-block-retries", "2"]).finished()
        let load = try await traffic.finished()
        try await reader.query("COMMIT")
        reader.close()
        #expect(result.status == 70, "\(result.all)")
        let line = result.stderr.split(separator: "\n").last { $0.contains("0002_note.up.sql") }.map(String.init) ?? result.stderr
        #expect(line.contains("pid \(readerPID) (idle in transaction"), "\(line)")
        #expect(line.contains("application long-reader") && line.contains("SELECT count(*) FROM orders"), "\(line)")
        #expect(line.contains("waited behind it, the longest"), "\(line)")
        #expect(try await database.version() == 1)
        #expect(try await database.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'") == "0")
        #expect(try await database.sql("SELECT value->>'sqlstate' FROM schemagate_settings WHERE key = 'last_failure'") == "57014")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 2 AND NOT success") == "1")
        #expect(load.everyClientSurvived, "\(load.output.all)")
        #expect(load.longest < Self.allowedWait, "longest pgbench transaction \(load.longest)s")
    }

    /// `ALTER COLUMN … TYPE bigint` rewrites a million rows under its ACCESS EXCLUSIVE lock: the
    /// governor cancels it and says the migration itself blocks traffic; allow-blocking lets it run.
    @Test func aRewriteIsCancelledUnlessAllowedToBlock() async throws {
        let rows = 1_000_000
        let (database, folder) = try await ordersDatabase(rows: rows)
        let rewrite = "ALTER TABLE orders ALTER COLUMN qty TYPE bigint;\nINSERT INTO audit (version) VALUES (2);\n"
        try rewrite.write(toFile: folder + "/0002_wide.up.sql", atomically: true, encoding: .utf8)
        var traffic = try Pgbench(database.server, database: database.name, script: Self.script("orders", rows: rows), seconds: 6)
        try await Task.sleep(for: .milliseconds(500))
        let cancelled = try await startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder,
                                                   "--max-block", "200ms", "--max-block-retries", "1"]).finished()
        var load = try await traffic.finished()
        #expect(cancelled.status == 70, "\(cancelled.all)")
        #expect(cancelled.stderr.contains("the migration itself blocks traffic"), "\(cancelled.stderr)")
        #expect(try await database.sql("SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'qty'") == "integer")
        #expect(try await database.version() == 1)
        #expect(load.everyClientSurvived, "\(load.output.all)")
        #expect(load.longest < Self.allowedWait, "longest pgbench transaction \(load.longest)s")

        try ("-- schemagate: allow-blocking\n" + rewrite).write(toFile: folder + "/0002_wide.up.sql", atomically: true, encoding: .utf8)
        traffic = try Pgbench(database.server, database: database.name, script: Self.script("orders", rows: rows), seconds: 3)
        try await Task.sleep(for: .milliseconds(500))
        let allowed = try await startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder,
                                                 "--max-block", "200ms", "--max-block-retries", "1"]).finished()
        load = try await traffic.finished()
        #expect(allowed.status == 0, "\(allowed.all)")
        #expect(try await database.sql("SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'qty'") == "bigint")
        #expect(try await database.sql("SELECT count(*) FROM audit WHERE version = 2") == "1")
        #expect(load.everyClientSurvived, "\(load.output.all)")
        // It did block: traffic waited for the rewrite, which the governor let run.
        #expect(load.longest > Self.maxBlock, "longest pgbench transaction \(load.longest)s")
    }

    /// A `CREATE INDEX CONCURRENTLY` that a session queues behind is cancelled midway: the INVALID
    /// index it leaves is dropped, the retry builds it, and the file's later statement runs once.
    @Test func aCancelledConcurrentIndexBuildLeavesNoInvalidIndex() async throws {
        let (database, folder) = try await ordersDatabase(rows: 1_000_000)
        try "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY orders_qty_idx ON orders (qty, id);\nINSERT INTO audit (version) VALUES (2);\n"
            .write(toFile: folder + "/0002_index.up.sql", atomically: true, encoding: .utf8)
        try "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS orders_qty_idx;\nDELETE FROM audit WHERE version = 2;\n"
            .write(toFile: folder + "/0002_index.down.sql", atomically: true, encoding: .utf8)
        let migrate = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--max-block", "200ms"])
        try await waitUntil(seconds: 30) {
            try await database.sql("SELECT count(*) FROM pg_stat_progress_create_index WHERE phase LIKE 'building index%' AND datname = current_database()") == "1"
        }
        // A maintenance session (VACUUM, ANALYZE, another DDL) queues behind the build.
        let maintenance = try await Connection.connect(ConnectionString(database.url), applicationName: "maintenance")
        try await maintenance.query("BEGIN")
        try await maintenance.query("LOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE")
        try await maintenance.query("COMMIT")
        maintenance.close()
        let result = await migrate.finished()
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stderr.contains("cancelled our own statement in 0002_index"), "\(result.stderr)")
        // The retry continues the marked file in place: no detour through a lost lock and recovery.
        #expect(!result.stderr.contains("undoing interrupted") && !result.stderr.contains("lost the migration lock"), "\(result.stderr)")
        #expect(try await database.sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == "0")
        #expect(try await database.sql("SELECT count(*) FROM pg_index WHERE indexrelid = 'orders_qty_idx'::regclass AND indisvalid") == "1")
        #expect(try await database.sql("SELECT count(*) FROM audit WHERE version = 2") == "1")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT value->'dirty' = 'null'::jsonb OR value->>'dirty' IS NULL FROM schemagate_settings WHERE key = 'schema_version'") == "t")
    }

    /// The watching connection is terminated while the migration's statement runs: the statement
    /// is cancelled rather than left unwatched, and applied once after the watch is back.
    @Test func aLostWatchCancelsAndRetriesOnce() async throws {
        let (database, folder) = try await ordersDatabase()
        try "INSERT INTO audit (version) VALUES (2);\nSELECT pg_sleep(2);\n".write(toFile: folder + "/0002_slow.up.sql", atomically: true, encoding: .utf8)
        let migrate = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--verbose"])
        try await waitUntil(seconds: 30) {
            try await database.sql("""
                SELECT count(*) FROM pg_stat_activity
                WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()
                """) == "1"
        }
        // Materialized first: only the lease connection of this test's database is terminated.
        let terminated = try await database.sql("""
            WITH lease AS MATERIALIZED (
              SELECT pid FROM pg_stat_activity WHERE application_name = 'schemagate-lease' AND datname = current_database()
            )
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM lease
            """)
        #expect(terminated == "1")
        let result = await migrate.finished()
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stderr.contains("watching connection was lost"), "\(result.stderr)")
        #expect(try await database.sql("SELECT count(*) FROM audit WHERE version = 2") == "1")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 2 AND success") == "1")
        #expect(try await database.version() == 2)
    }

    /// While a `CREATE INDEX CONCURRENTLY` builds on a large table, `/status` reports its phase and
    /// a percentage that rises, from pg_stat_progress_create_index as the watch reads it.
    @Test func statusShowsTheIndexBuildsPhaseAndRisingPercentage() async throws {
        let (database, folder) = try await ordersDatabase(rows: 1_000_000)
        // An expression index: md5 per row keeps the build busy for a few seconds here.
        try "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY orders_digest_idx ON orders (md5(id::text), md5(qty::text || id::text));\n"
            .write(toFile: folder + "/0002_index.up.sql", atomically: true, encoding: .utf8)
        let sockets = StatusSocketTests()
        let daemon = try sockets.startDaemon(database, folder: folder)
        var seen: [(phase: String, percent: Double)] = []
        var messages: [String] = []
        var shown: String?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            guard let answer = try? await sockets.curl(daemon.socket, "/status"), answer.code != 0,
                  let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] else { continue }
            if json["state"] as? String == "ready" { break }
            if let progress = json["progress"] as? [String: Any], let phase = progress["phase"] as? String {
                seen.append((phase, progress["percent"] as? Double ?? -1))
                messages.append(json["message"] as? String ?? "")
                if shown == nil { shown = try? await schemagate(["status", "--socket", daemon.socket]).stdout }
            }
        }
        #expect(await daemon.listener.waitFor { $0 == "READY=1" })
        let metricsText = await (try? sockets.curl(daemon.socket, "/metrics").body) ?? ""
        let output = await daemon.stop()
        #expect(output.status == 0, "\(output.all.suffix(1500))")
        #expect(try await database.version() == 2)
        #expect(seen.contains { $0.phase.hasPrefix("building index") }, "\(seen)")
        let rising = zip(seen, seen.dropFirst()).contains { $0.phase == $1.phase && $0.percent >= 0 && $1.percent > $0.percent }
        #expect(rising, "no phase with a rising percentage in \(seen)")
        #expect(messages.contains { $0.hasPrefix("applying 0002_index (1 of 1): CREATE INDEX CONCURRENTLY, building index") && $0.contains("%") },
                "\(messages.suffix(5))")
        #expect(shown?.contains("statement  0002_index line 2: CREATE INDEX CONCURRENTLY") == true, "\(shown ?? "")")
        #expect(daemon.listener.lines.contains { $0.hasPrefix("STATUS=applying 0002_index (1 of 1): CREATE INDEX CONCURRENTLY") },
                "\(daemon.listener.lines.suffix(5))")
        let metrics = metricsText
        for name in ["schemagate_blocked_sessions 0", "schemagate_governor_cancels_total", "schemagate_max_block_seconds"] {
            #expect(metrics.contains(name), "\(name) missing from /metrics")
        }
    }

    /// While the migration queues behind a real long reader, `/status`, `STATUS=` and
    /// `schemagate status` say which table it waits for and name the reader's own backend pid,
    /// its state and its application; once the reader ends the migration applies, once.
    @Test func progressNamesTheBackendTheMigrationWaitsFor() async throws {
        let (database, folder) = try await ordersDatabase()
        // allow-blocking: with no traffic nobody waits behind it anyway; this keeps it queued.
        try "-- schemagate: allow-blocking\nALTER TABLE orders ADD COLUMN note text;\nINSERT INTO audit (version) VALUES (2);\n"
            .write(toFile: folder + "/0002_note.up.sql", atomically: true, encoding: .utf8)
        let (reader, readerPID) = try await longReader(database)
        let sockets = StatusSocketTests()
        let daemon = try sockets.startDaemon(database, folder: folder, extra: ["--ddl-lock-timeout", "60s", "--lock-wait", "90s"])
        let wording = "waiting for lock on orders held by pid \(readerPID) (idle in transaction"
        var progress: [String: Any]?
        var message = ""
        var shown = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, progress == nil {
            try await Task.sleep(for: .milliseconds(100))
            guard let answer = try? await sockets.curl(daemon.socket, "/status"), answer.code == 200 else { continue }
            let json = sockets.json(answer.body)
            guard let seen = json["progress"] as? [String: Any], seen["waiting_for"] is String else { continue }
            progress = seen
            message = json["message"] as? String ?? ""
            shown = await (try? schemagate(["status", "--socket", daemon.socket]).stdout) ?? ""
        }
        // The reader is still open: the migration cannot have gone past its lock.
        #expect(try await database.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'") == "0")
        let inStatus = daemon.listener.lines.contains { $0.hasPrefix("STATUS=") && $0.contains(wording) }
        try await reader.query("COMMIT")
        reader.close()
        #expect(progress?["waiting_on"] as? String == "orders", "\(progress ?? [:])")
        let waitingFor = progress?["waiting_for"] as? String ?? ""
        #expect(waitingFor.hasPrefix("pid \(readerPID) (idle in transaction") && waitingFor.hasSuffix("application long-reader)"), "\(waitingFor)")
        #expect(message.contains("applying 0002_note (1 of 1): ") && message.contains(wording), "\(message)")
        #expect(shown.contains(wording), "\(shown)")
        #expect(inStatus, "\(daemon.listener.lines.suffix(5))")
        #expect(await daemon.listener.waitFor { $0 == "READY=1" })
        let output = await daemon.stop()
        #expect(output.status == 0, "\(output.all.suffix(1500))")
        #expect(try await database.version() == 2)
        #expect(try await database.sql("SELECT count(*) FROM audit WHERE version = 2") == "1")
    }

    /// A down file stalls traffic as much as an up file: `rollback` is governed too. Behind a
    /// reader that ends, the down file is cancelled, retried and applied once; behind one that
    /// outlasts the retries, the rollback fails (70), the schema stays, nobody else is cancelled.
    @Test(arguments: [false, true])
    func aRollbackIsGovernedBehindALongReader(retriesRunOut: Bool) async throws {
        let (database, folder) = try await ordersDatabase()
        try "ALTER TABLE orders ADD COLUMN note text;\nINSERT INTO audit (version) VALUES (2);\n"
            .write(toFile: folder + "/0002_note.up.sql", atomically: true, encoding: .utf8)
        try "ALTER TABLE orders DROP COLUMN note;\nDELETE FROM audit WHERE version = 2;\n"
            .write(toFile: folder + "/0002_note.down.sql", atomically: true, encoding: .utf8)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder]).status == 0)
        let traffic = try Pgbench(database.server, database: database.name, script: Self.script("orders", rows: 1000), seconds: 7)
        try await Task.sleep(for: .milliseconds(500))
        let (reader, readerPID) = try await longReader(database)
        let rollback = try startSchemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", folder,
                                            "--max-block", "200ms", "--lock-wait", "60s"] + (retriesRunOut ? ["--max-block-retries", "2"] : []))
        if !retriesRunOut {
            try await Task.sleep(for: .seconds(3))
            try await reader.query("COMMIT")
        }
        let result = await rollback.finished()
        if retriesRunOut { try await reader.query("COMMIT") }
        reader.close()
        let load = try await traffic.finished()
        let noteColumns = try await database.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'")
        #expect(result.stderr.contains("cancelled our own statement in the down SQL of 2"), "\(result.stderr)")
        #expect(load.everyClientSurvived, "\(load.output.all)")
        #expect(load.transactions.count > 100, "pgbench ran only \(load.transactions.count) transactions")
        #expect(load.longest < Self.allowedWait, "longest pgbench transaction \(load.longest)s")
        if retriesRunOut {
            #expect(result.status == 70, "\(result.all)")
            let line = result.stderr.split(separator: "\n").last { $0.contains("was cancelled by the lock-impact governor") }.map(String.init) ?? result.stderr
            #expect(line.contains("down SQL of version 2") && line.contains("2 retries used"), "\(line)")
            #expect(line.contains("pid \(readerPID) (idle in transaction") && line.contains("application long-reader"), "\(line)")
            #expect(try await database.version() == 2)
            #expect(noteColumns == "1")
            #expect(try await database.sql("SELECT count(*) FROM audit WHERE version = 2") == "1")
        } else {
            #expect(result.status == 0, "\(result.all)")
            #expect(try await database.version() == 1)
            #expect(noteColumns == "0")
            // The rest of the down file ran once, in the transaction that committed.
            #expect(try await database.sql("SELECT count(*) FROM audit WHERE version = 2") == "0")
            #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 2 AND direction = 'down'") == "1")
        }
    }
}
