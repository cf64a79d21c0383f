import Foundation
import PostgresHarness
import PQ
import Testing

/// Rolling deploys with expand/contract migrations, real daemons against a real server: release A
/// reads and writes `people.name`; release B adds `full_name` kept in sync by a trigger (0002) and
/// drops `name` in a contract migration (0003) that may run only once no A instance is live.
@Suite("contract migrations in rolling deploys", .serialized)
struct ContractDeployTests {
    /// The runbook's worked example, `migrations/expand-contract`: release B is the whole folder,
    /// release A only its first version.
    static let releaseB: [String: String] = {
        let folder = URL(fileURLWithPath: exampleMigrations).appendingPathComponent("expand-contract").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return Dictionary(uniqueKeysWithValues: names.map { ($0, (try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8)) ?? "") })
    }()
    static let releaseA = releaseB.filter { $0.key.hasPrefix("0001_") }

    /// The rows the load clients work on.
    func seedPeople(_ database: TestDatabase) async throws {
        _ = try await database.sql("INSERT INTO people (name) SELECT 'person ' || i FROM generate_series(1, 20) AS i")
    }

    /// A daemon of one release with its own notify socket and status socket.
    struct Daemon {
        let process: RunningProcess
        let listener: NotifyListener
        let socket: String

        var isReady: Bool { listener.lines.contains { $0.contains("READY=1") } }

        func stop() async -> ProcessOutput {
            process.signal(SIGTERM)
            return await process.finished()
        }
    }

    func startDaemon(_ url: String, folder: String, release: String, extra: [String] = []) throws -> Daemon {
        let listener = try NotifyListener()
        let socket = "/tmp/sg-\(UUID().uuidString.prefix(8)).sock"
        let process = try startSchemagate(
            ["daemon", "--database-url", url, "--migrations", folder, "--release", release, "--watch-interval", "200ms",
             "--socket", socket, "--lock-wait", "60s"] + extra,
            environment: ["NOTIFY_SOCKET": listener.path])
        return Daemon(process: process, listener: listener, socket: socket)
    }

    /// Polls `condition` (errors count as false) every 20ms for up to `seconds`; false at the deadline.
    @discardableResult
    func waitUntil(seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for READY=1; generous, since the whole suite may run beside 100-process fleets on two
    /// cores. On a timeout, stops the daemon and shows what it said.
    func waitReady(_ daemon: Daemon, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let ready = try await waitUntil(seconds: 60) { daemon.isReady }
        if !ready {
            let output = await daemon.stop()
            Issue.record("daemon \(daemon.process.pid) never reported READY=1 (exit \(output.status)): \(output.stderr.suffix(1500)); notify: \(daemon.listener.lines.suffix(5))",
                         sourceLocation: sourceLocation)
        }
    }

    /// An application's load: one connection, reading and writing `column` of its row in a loop,
    /// counting every statement that fails.
    final class LoadClient: @unchecked Sendable {
        // @unchecked: the counters are guarded by `lock`; the loop runs in one task.
        private let lock = NSLock()
        private var errors: [String] = []
        private var queries = 0
        private var task: Task<Void, Never>?

        init(url: String, column: String, id: Int) async throws {
            let connection = try await Connection.connect(ConnectionString(url))
            task = Task {
                var round = 0
                while !Task.isCancelled {
                    round += 1
                    do {
                        _ = try await connection.query("UPDATE people SET \(column) = $1 WHERE id = $2", ["\(column) \(id) \(round)", String(id)])
                        let read = try await connection.query("SELECT \(column) AS value FROM people WHERE id = $1", [String(id)]).first?["value"]
                        if read != "\(column) \(id) \(round)" { self.record(error: "read \(read ?? "nothing") after writing round \(round)") }
                        self.count()
                    } catch {
                        // Stopping the client cancels its statement in flight; that is not an error.
                        if !Task.isCancelled { self.record(error: "\(error)") }
                    }
                    try? await Task.sleep(for: .milliseconds(10))
                }
                connection.close()
            }
        }

        private func count() { lock.withLock { queries += 2 } }
        private func record(error: String) { lock.withLock { errors.append(error) } }

        /// Stops the loop; returns the statements run and the errors met.
        func stop() async -> (queries: Int, errors: [String]) {
            task?.cancel()
            await task?.value
            return lock.withLock { (queries, errors) }
        }
    }

    func contractAppliedAt(_ database: TestDatabase) async throws -> Double? {
        Double(try await database.sql("SELECT extract(epoch FROM started_at)::float8 FROM schemagate_history WHERE version = 3 AND direction = 'up' AND success"))
    }

    /// Direct, and through PgBouncer in transaction pooling (daemons and load clients alike): the
    /// registry's heartbeat holds no session state.
    @Test(arguments: [false, true])
    func aRollingDeployUnderLoadAppliesTheContractOnceAfterTheLastOldInstanceStops(throughPgBouncer: Bool) async throws {
        let database = try await TestDatabase()
        let bouncer = throughPgBouncer ? try PgBouncer(in: database.server) : nil
        defer { bouncer?.stop() }
        let url = bouncer?.connectionString(database: database.name) ?? database.url
        let via = throughPgBouncer ? " through PgBouncer" : ""
        let folderA = try makeFolder(Self.releaseA)
        let folderB = try makeFolder(Self.releaseB)
        var olds: [(daemon: Daemon, client: LoadClient)] = []
        for index in 0..<10 {
            let daemon = try startDaemon(url, folder: folderA, release: "A")
            try await waitReady(daemon)
            if index == 0 { try await seedPeople(database) }
            olds.append((daemon, try await LoadClient(url: url, column: "name", id: index + 1)))
        }
        // A watcher on its own connection: a contract applied while an A row is live is a violation.
        let watcher = try await Connection.connect(ConnectionString(database.url))
        let violations = Task { () -> Int in
            var seen = 0
            while !Task.isCancelled {
                if let row = try? await watcher.query("""
                    SELECT (SELECT count(*) FROM schemagate_fleet WHERE release = 'A' AND heartbeat_at > now() - interval '15 seconds') AS olds,
                           (SELECT value->>'version' FROM schemagate_settings WHERE key = 'schema_version') AS version
                    """).first, row["olds"] != "0", row["version"] == "3" {
                    seen += 1
                }
                try? await Task.sleep(for: .milliseconds(25))
            }
            return seen
        }
        var news: [(daemon: Daemon, client: LoadClient)] = []
        var results: [(queries: Int, errors: [String])] = []
        var lastOldStopped = Date()
        for (index, old) in olds.enumerated() {
            // The app stops first, then its sidecar; the new release's sidecar starts, then its app.
            results.append(await old.client.stop())
            // The clean stop begins at SIGTERM: the row is deleted then, before the process exits,
            // so the contract may start before stop() returns (the sampler proves no A row was live).
            lastOldStopped = Date()
            let output = await old.daemon.stop()
            #expect(output.status == 0, "A daemon \(index): \(output.stderr.suffix(400))")
            #expect(try await contractAppliedAt(database) == nil || index == olds.count - 1, "0003 applied with \(olds.count - index - 1) A instances live")
            let daemon = try startDaemon(url, folder: folderB, release: "B")
            try await waitReady(daemon)
            news.append((daemon, try await LoadClient(url: url, column: "full_name", id: index + 1)))
        }
        let applied = try await waitUntil(seconds: 20) { try await database.version() == 3 }
        #expect(applied, "0003 was not applied after the last A instance stopped")
        violations.cancel()
        #expect(await violations.value == 0, "0003 was applied while an A instance was live")
        watcher.close()
        if let at = try await contractAppliedAt(database) {
            let delay = at - lastOldStopped.timeIntervalSince1970
            #expect(delay > 0, "0003 started \(-delay)s before the last A instance was told to stop")
            // The issue's bound is 2s; one watch interval (200ms) plus the apply, with slack for two busy cores.
            #expect(delay < 4, "0003 was applied \(delay)s after the last A instance stopped")
            print("0003 applied \(delay)s after the last A instance's clean stop\(via)")
        }
        // Every B daemon stayed ready throughout, and its app kept working across the contract.
        try await Task.sleep(for: .milliseconds(500))
        #expect(news.allSatisfy { $0.daemon.isReady })
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 3 AND direction = 'up'") == "1")
        #expect(try await database.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'people' AND column_name = 'name'") == "0")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_fleet WHERE release = 'A'") == "0")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_fleet WHERE release = 'B' AND target = 3") == "10")

        // The fleet command lists the live B instances; rollback below their need is refused.
        let fleet = try await schemagate(["fleet", "--database-url", database.url, "--migrations", folderB])
        #expect(fleet.status == 0)
        #expect(fleet.stdout.split(separator: "\n").filter { $0.hasPrefix("B ") }.count == 10, "\(fleet.stdout)")
        let before = try await database.fingerprint()
        let rollback = try await schemagate(["rollback", "--to", "1", "--database-url", database.url, "--migrations", folderB])
        #expect(rollback.status == 76, "\(rollback.all)")
        #expect(rollback.stderr.contains("rollback --to 1 refused") && rollback.stderr.contains("release B, target 3"), "\(rollback.stderr)")
        #expect(try await database.fingerprint() == before)
        #expect(try await database.version() == 3)

        for new in news { results.append(await new.client.stop()) }
        for new in news {
            let output = await new.daemon.stop()
            #expect(output.status == 0, "\(output.stderr.suffix(400))")
        }
        let errors = results.flatMap(\.errors)
        #expect(errors.isEmpty, "\(errors.count) client errors, first: \(errors.first ?? "")")
        #expect(results.map(\.queries).reduce(0, +) > 200, "the load clients ran too little to prove anything")
        // Clean stops leave no rows behind.
        #expect(try await database.sql("SELECT count(*) FROM schemagate_fleet") == "0")
    }

    @Test func theContractRunsWithinALeaseOfTheLastOldInstancesSIGKILL() async throws {
        let database = try await TestDatabase()
        let old = try startDaemon(database.url, folder: try makeFolder(Self.releaseA), release: "A", extra: ["--lease", "2s"])
        try await waitReady(old)
        let new = try startDaemon(database.url, folder: try makeFolder(Self.releaseB), release: "B", extra: ["--lease", "2s"])
        try await waitReady(new)
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await database.version() == 2, "0003 must wait while the A instance lives")
        // The new daemon is ready, and says what it waits for and for whom.
        let waits = "0003_drop_name waits for 1 instance on release A: "
        let status = try await schemagate(["status", "--socket", new.socket])
        #expect(status.status == 0 && status.stdout.contains(waits) && status.stdout.contains("pid \(old.process.pid)"), "\(status.all)")
        let json = try await schemagate(["status", "--socket", new.socket, "--json"])
        #expect(json.stdout.contains(#""contract_waits":[{"holders":["#) && json.stdout.contains("(release A, target 1)"), "\(json.stdout)")
        let metrics = try await ProcessRunner.run(["/usr/bin/curl", "-s", "--unix-socket", new.socket, "http://localhost/metrics"])
        #expect(metrics.stdout.contains("schemagate_contract_waits 1") && metrics.stdout.contains("schemagate_fleet_live_instances 2"), "\(metrics.stdout)")
        // `fleet --json` says the same, for scripts: both instances, and 0003 held back by A alone.
        let fleetJSON = try await schemagate(["fleet", "--database-url", database.url, "--migrations", try makeFolder(Self.releaseB), "--json"])
        #expect(fleetJSON.status == 0, "\(fleetJSON.all)")
        let registry = try JSONSerialization.jsonObject(with: Data(fleetJSON.stdout.utf8)) as? [String: Any]
        let instances = registry?["instances"] as? [[String: Any]] ?? []
        #expect(registry?["version"] as? Int == 2)
        #expect(Set(instances.compactMap { $0["release"] as? String }) == ["A", "B"], "\(fleetJSON.stdout)")
        #expect(Set(instances.compactMap { $0["pid"] as? Int }) == [Int(old.process.pid), Int(new.process.pid)], "\(fleetJSON.stdout)")
        let oldID = instances.first { $0["release"] as? String == "A" }?["instance"] as? String
        let held = registry?["contract_waits"] as? [[String: Any]] ?? []
        #expect(held.count == 1 && held.first?["version"] as? Int == 3 && held.first?["waits_for"] as? [String] == [oldID].compactMap { $0 }, "\(fleetJSON.stdout)")
        let killed = Date()
        old.process.signal(SIGKILL)
        _ = await old.process.finished()
        let applied = try await waitUntil(seconds: 15) { try await database.version() == 3 }
        #expect(applied)
        if let at = try await contractAppliedAt(database) {
            let delay = at - killed.timeIntervalSince1970
            // One lease (2s) after the last heartbeat, then a watch tick; slack for two busy cores.
            #expect(delay > 1 && delay < 5, "0003 applied \(delay)s after the SIGKILL")
            print("0003 applied \(delay)s after the SIGKILL (lease 2s)")
        }
        #expect(new.isReady)
        let after = try await ProcessRunner.run(["/usr/bin/curl", "-s", "--unix-socket", new.socket, "http://localhost/metrics"])
        #expect(after.stdout.contains("schemagate_contract_waits 0") && after.stdout.contains("schemagate_contract_migrations_applied_total 1"), "\(after.stdout)")
        let output = await new.stop()
        #expect(output.status == 0)
        #expect(output.stderr.contains("contract migration 0003_drop_name applied"), "\(output.stderr.suffix(600))")
    }

    @Test func anInstancePausedPastItsLeaseFindsItselfIncompatibleOnResuming() async throws {
        let database = try await TestDatabase()
        let folderA = try makeFolder(Self.releaseA)
        let exiting = try startDaemon(database.url, folder: folderA, release: "A", extra: ["--lease", "2s", "--on-incompatible", "exit"])
        try await waitReady(exiting)
        let staying = try startDaemon(database.url, folder: folderA, release: "A", extra: ["--lease", "2s", "--on-incompatible", "stay"])
        try await waitReady(staying)
        let new = try startDaemon(database.url, folder: try makeFolder(Self.releaseB), release: "B", extra: ["--lease", "2s"])
        try await waitReady(new)
        exiting.process.signal(SIGSTOP)
        staying.process.signal(SIGSTOP)
        // Past the lease the paused rows are gone, and the contract migration runs.
        let applied = try await waitUntil(seconds: 15) { try await database.version() == 3 }
        #expect(applied)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_fleet WHERE release = 'A'") == "0")
        exiting.process.signal(SIGCONT)
        staying.process.signal(SIGCONT)
        let output = await exiting.process.finished()
        #expect(output.status == 76, "\(output.stderr.suffix(600))")
        #expect(output.stderr.contains("contract migration 3 (drop_name) is applied"), "\(output.stderr.suffix(600))")
        #expect(output.stderr.contains("dropped from the fleet"))
        // The one told to stay serves "not ready" and says why.
        let notReady = try await waitUntil(seconds: 10) {
            let status = try await schemagate(["status", "--socket", staying.socket])
            return status.status == 4 && status.stdout.contains("incompatible")
        }
        #expect(notReady)
        let health = try await ProcessRunner.run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", staying.socket, "http://localhost/healthz"])
        #expect(health.stdout == "503")
        // Listed as incompatible, it holds no later contract migration back: the schema has broken it already.
        #expect(await new.stop().status == 0)
        let fleet = try await schemagate(["fleet", "--database-url", database.url])
        #expect(fleet.stdout.contains("incompatible") && fleet.stdout.contains("pid \(staying.process.pid)"), "\(fleet.stdout)")
        var releaseC = Self.releaseB
        releaseC["0004_comment_people.up.sql"] = "-- schemagate: contract\nCOMMENT ON TABLE people IS 'release C';\n"
        let later = try await schemagate(["migrate", "--database-url", database.url, "--migrations", try makeFolder(releaseC)])
        #expect(later.status == 0 && !later.stderr.contains("waits for"), "\(later.all)")
        #expect(try await database.version() == 4)
        let stayed = await staying.stop()
        #expect(stayed.status == 0)
        #expect(stayed.stderr.contains("event=incompatible"), "\(stayed.stderr.suffix(1500))")
    }

    @Test func anOldReleaseStartedAfterTheContractNeverReportsReady() async throws {
        let database = try await TestDatabase()
        let migrate = try await schemagate(["migrate", "--database-url", database.url, "--migrations", try makeFolder(Self.releaseB)])
        #expect(migrate.status == 0, "\(migrate.all)")
        #expect(try await database.version() == 3)
        let old = try startDaemon(database.url, folder: try makeFolder(Self.releaseA), release: "A")
        let output = await old.process.finished()
        #expect(output.status == 76, "\(output.all.suffix(600))")
        #expect(output.stderr.contains("contract migration 3 (drop_name) is applied, above this release's target 1"), "\(output.stderr)")
        #expect(!old.isReady, "an incompatible release said READY=1")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_fleet") == "0")
    }

    @Test func migrateStopsBeforeAHeldBackContractAndCanWaitForIt() async throws {
        let database = try await TestDatabase()
        let old = try startDaemon(database.url, folder: try makeFolder(Self.releaseA), release: "A")
        try await waitReady(old)
        let folderB = try makeFolder(Self.releaseB)
        let first = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folderB])
        #expect(first.status == 0, "\(first.all)")
        #expect(try await database.version() == 2)
        #expect(first.stderr.contains("0003_drop_name waits for 1 instance on release A:") && first.stderr.contains("pid \(old.process.pid)"), "\(first.stderr)")
        let plan = try await schemagate(["plan", "--database-url", database.url, "--migrations", folderB])
        #expect(plan.stdout.contains("0003_drop_name  (contract)") && plan.stdout.contains("waits:    0003_drop_name waits for 1 instance on release A"), "\(plan.stdout)")
        let bounded = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folderB, "--wait-for-contract", "--lock-wait", "1s"])
        #expect(bounded.status == 3, "\(bounded.all)")
        #expect(try await database.version() == 2)
        // A one-shot migrate is not a live instance.
        #expect(try await database.sql("SELECT count(*) FROM schemagate_fleet") == "1")
        let waiting = try startSchemagate(["migrate", "--database-url", database.url, "--migrations", folderB, "--wait-for-contract", "--lock-wait", "30s"])
        try await Task.sleep(for: .milliseconds(700))
        #expect(try await database.version() == 2)
        #expect(await old.stop().status == 0)
        let output = await waiting.finished()
        #expect(output.status == 0, "\(output.all)")
        #expect(try await database.version() == 3)
    }

    @Test func badInputChangesNothing() async throws {
        let database = try await TestDatabase()
        _ = try await schemagate(["migrate", "--database-url", database.url, "--migrations", try makeFolder(Self.releaseA)])
        let before = try await database.fingerprint()
        var misplaced = Self.releaseB
        misplaced["0003_drop_name.up.sql"] = "DROP TRIGGER people_sync_names ON people;\n-- schemagate: contract\nALTER TABLE people DROP COLUMN name;\n"
        #expect(Self.releaseB.count == 6 && Self.releaseA.count == 2, "the example folder moved")
        let directive = try await schemagate(["migrate", "--database-url", database.url, "--migrations", try makeFolder(misplaced)])
        #expect(directive.status == 65, "\(directive.all)")
        #expect(directive.stderr.contains("0003_drop_name.up.sql"), "\(directive.stderr)")
        for label in ["bad\u{7}label", String(repeating: "r", count: 201), ""] {
            let daemon = try await schemagate(["daemon", "--database-url", database.url, "--migrations", try makeFolder(Self.releaseB), "--release", label])
            #expect(daemon.status == 2, "\(daemon.all)")
            #expect(daemon.stderr.contains("--release"), "\(daemon.stderr)")
        }
        let policy = try await schemagate(["daemon", "--database-url", database.url, "--migrations", try makeFolder(Self.releaseB), "--on-incompatible", "later"])
        #expect(policy.status == 2 && policy.stderr.contains("--on-incompatible 'later'"), "\(policy.all)")
        #expect(try await database.fingerprint() == before)
        #expect(try await database.version() == 1)
    }
}
