import Foundation
import PostgresHarness
import PQ
import Testing

/// The status socket, asked by curl (a client no one here wrote) and by `schemagate status`
/// and `wait`, in every state the daemon can be in.
@Suite("status socket: endpoints, clients, the socket file, bad clients")
struct StatusSocketTests {
    /// A daemon with its own socket (and NOTIFY_SOCKET, to know when it is ready).
    struct Daemon {
        let process: RunningProcess
        let socket: String
        let listener: NotifyListener

        func stop() async -> ProcessOutput {
            process.signal(SIGTERM)
            return await process.finished()
        }
    }

    /// Holds a migration in `migrating` for as long as the test wants: the migration's first
    /// statement waits for an advisory lock that the test's own session holds until `open()`.
    final class Gate: Sendable {
        static let sql = "SELECT pg_advisory_xact_lock(4242);\n"
        let session: Connection

        init(_ database: TestDatabase) async throws {
            session = try await Connection.connect(ConnectionString(database.url))
            _ = try await session.query("SELECT pg_advisory_lock(4242)")
        }

        func open() async throws {
            _ = try await session.query("SELECT pg_advisory_unlock(4242)")
            session.close()
        }
    }

    static func socketPath() -> String { "/tmp/sg-\(UUID().uuidString.prefix(8)).sock" }

    func startDaemon(_ database: TestDatabase, folder: String, socket: String = socketPath(), extra: [String] = []) throws -> Daemon {
        let listener = try NotifyListener()
        let process = try startSchemagate(
            ["daemon", "--database-url", database.url, "--migrations", folder, "--watch-interval", "200ms", "--socket", socket] + extra,
            environment: ["NOTIFY_SOCKET": listener.path])
        return Daemon(process: process, socket: socket, listener: listener)
    }

    /// `curl --unix-socket`: the status code, the headers and the body.
    func curl(_ socket: String, _ path: String, method: String = "GET") async throws -> (code: Int, headers: String, body: String) {
        let output = try await ProcessRunner.run(["/usr/bin/curl", "-sS", "-D", "-", "-X", method, "--max-time", "30",
                                            "--unix-socket", socket, "http://localhost\(path)"])
        let text = output.stdout.replacingOccurrences(of: "\r\n", with: "\n")
        let parts = text.components(separatedBy: "\n\n")
        let headers = parts.first ?? ""
        let code = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (code, headers, parts.dropFirst().joined(separator: "\n\n"))
    }

    func json(_ body: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
    }

    /// Polls /status until its state is `state` (and, when given, its current version `version`:
    /// a rollback passes through the versions between; and its message starts with `message`:
    /// `migrating` begins at "lock acquired", before the first "applying").
    func expectState(_ socket: String, _ state: String, version: Int? = nil, message: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<200 {
            last = await json(try curl(socket, "/status").body)
            if last["state"] as? String == state, version == nil || last["current_version"] as? Int == version,
               message.map({ (last["message"] as? String)?.hasPrefix($0) == true }) ?? true { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("never \(state); last: \(last)", sourceLocation: sourceLocation)
        return last
    }

    @Test func waitingOnAnotherHolderThenReady() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 3)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"]).status == 0)
        try await database.sql("""
        INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'busy', 'host', 'host-b', 'pid', 812,
          'taken_at', extract(epoch FROM now()), 'expires_at', extract(epoch FROM now()) + 600, 'session_visible', false))
        """)
        let daemon = try startDaemon(database, folder: folder)
        // The socket answers before anything is reported.
        #expect(await daemon.listener.waitFor { $0 == "STATUS=starting" })
        #expect(try await curl(daemon.socket, "/status").code == 200)

        let waiting = try await expectState(daemon.socket, "waiting")
        #expect(waiting["ready"] as? Bool == false)
        #expect(waiting["current_version"] as? Int == 1 && waiting["target_version"] as? Int == 3)
        #expect((waiting["pending"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["0002_step_2", "0003_step_3"])
        let lock = waiting["lock"] as? [String: Any]
        #expect(lock?["host"] as? String == "host-b" && lock?["pid"] as? Int == 812 && lock?["owner"] as? String == "busy")
        #expect(waiting["lock_held_for_seconds"] as? Double != nil)
        let health = try await curl(daemon.socket, "/healthz")
        #expect(health.code == 503 && health.headers.lowercased().contains("retry-after: 1"))
        let shortWait = try await curl(daemon.socket, "/wait?timeout=0.3")
        #expect(shortWait.code == 503 && json(shortWait.body)["state"] as? String == "waiting")
        let cli = try await schemagate(["status", "--socket", daemon.socket])
        #expect(cli.status == 3, "\(cli.all)")
        #expect(cli.stdout.hasPrefix("● waiting for lock held by host-b pid 812\n") && cli.stdout.contains("held by host-b pid 812 for ") && cli.stdout.contains("1 → 3"))
        #expect(cli.stdout.contains("0002_step_2, 0003_step_3") && !cli.stdout.contains("\u{1B}["), "no colour off a terminal")
        let cliWait = try await schemagate(["wait", "--socket", daemon.socket, "--timeout", "0.5"])
        #expect(cliWait.status == 3 && cliWait.stderr.contains("not ready after 500ms"), "\(cliWait.all)")
        #expect(try await curl(daemon.socket, "/metrics").body.contains("schemagate_ready 0"))

        // The other holder releases; the daemon takes the lock and finishes. A wait answers at READY.
        _ = try await database.sql("DELETE FROM schemagate_settings WHERE key = 'migration_lock'")
        let waited = try await schemagate(["wait", "--socket", daemon.socket, "--timeout", "30"])
        #expect(waited.status == 0 && waited.stdout == "ready: schema at 3\n", "\(waited.all)")
        let ready = await json(try curl(daemon.socket, "/status").body)
        #expect(ready["state"] as? String == "ready" && ready["ready"] as? Bool == true)
        #expect(ready["current_version"] as? Int == 3 && (ready["pending"] as? [Any])?.isEmpty == true)
        #expect(ready["lock"] is NSNull && ready["last_error"] is NSNull)
        let version = try await schemagate(["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty, "\(version.all)")
        #expect(ready["version"] as? String == version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(ready)")
        #expect(try await curl(daemon.socket, "/healthz").code == 200)
        #expect(try await curl(daemon.socket, "/wait?timeout=5").code == 200)
        let status = try await schemagate(["status", "--socket", daemon.socket])
        #expect(status.status == 0 && status.stdout.contains("ready") && status.stdout.contains("3 (at target)"), "\(status.all)")
        let statusJSON = try await schemagate(["status", "--socket", daemon.socket, "--json"])
        #expect(statusJSON.status == 0 && json(statusJSON.stdout)["state"] as? String == "ready")
        let metrics = try await curl(daemon.socket, "/metrics")
        #expect(metrics.headers.contains("text/plain"))
        for line in ["schemagate_ready 1", "schemagate_schema_version 3", "schemagate_target_version 3",
                     "schemagate_migrations_applied_total 2", "schemagate_lock_takeovers_total 0"] {
            #expect(metrics.body.contains(line), "\(line) in \(metrics.body)")
        }
        #expect(metrics.body.contains("schemagate_migration_duration_seconds_count 2"))
        #expect(metrics.body.contains("schemagate_lock_wait_duration_seconds_count 1"))
        #expect(try await curl(daemon.socket, "/nope").code == 404)
        #expect(try await curl(daemon.socket, "/status", method: "POST").code == 405)
        #expect(try await curl(daemon.socket, "/status", method: "DELETE").headers.contains("Allow: GET"))
        #expect(await daemon.stop().status == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socket), "the socket is removed on the way out")
    }

    /// Until the daemon has read the database, status says "unknown" instead of guessing "none"
    /// pending and a free lock, and /metrics has no schema version (0 would be a wrong one).
    @Test func beforeTheDatabaseIsReadNothingIsGuessed() async throws {
        let socket = Self.socketPath()
        let process = try startSchemagate(["daemon", "--database-url", "postgresql://nobody@127.0.0.1:1/none",
                                           "--migrations", try auditFolder(count: 2), "--socket", socket, "--lock-wait", "1m"])
        // The socket is bound before the daemon connects; a busy machine may take long to start it.
        try await waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: socket) }
        try await waitUntil(seconds: 60) { try await schemagate(["status", "--socket", socket]).status == 3 }
        let cli = try await schemagate(["status", "--socket", socket])
        #expect(cli.status == 3, "\(cli.all)")
        let rows = cli.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.contains { $0.first == "pending" && $0.last == "unknown" }, "\(cli.stdout)")
        #expect(rows.contains { $0.first == "lock" && $0.last == "unknown" }, "\(cli.stdout)")
        let metrics = try await curl(socket, "/metrics").body
        #expect(!metrics.contains("schemagate_schema_version"), "\(metrics)")
        #expect(metrics.contains("schemagate_ready 0"))
        process.signal(SIGTERM)
        #expect(await process.finished().status == 0)
    }

    @Test func migratingThenRegressed() async throws {
        let database = try await TestDatabase()
        let gate = try await Gate(database)
        let folder = try auditFolder(count: 2, extra: ["0003_slow.up.sql": Gate.sql + "INSERT INTO audit (version) VALUES (3);\n",
                                                      "0003_slow.down.sql": "DELETE FROM audit WHERE version = 3;\n"])
        let daemon = try startDaemon(database, folder: folder, extra: ["--http", "127.0.0.1:0", "--ddl-lock-timeout", "5m"])
        // The gate holds 0003; 0001 and 0002 may still be going by when `migrating` is first seen.
        let migrating = try await expectState(daemon.socket, "migrating", message: "applying 0003_slow")
        let lock = migrating["lock"] as? [String: Any]
        #expect(lock?["ours"] as? Bool == true && lock?["pid"] as? Int == Int(daemon.process.pid))
        #expect((migrating["message"] as? String)?.hasPrefix("applying 0003_slow (3 of 3)") == true, "\(migrating)")
        #expect(try await curl(daemon.socket, "/healthz").code == 503)
        let cli = try await schemagate(["status", "--socket", daemon.socket])
        #expect(cli.status == 3 && cli.stdout.contains("migrating") && cli.stdout.contains("held by this daemon"), "\(cli.all)")
        // On a terminal (script(1) gives it one), wait shows what the daemon does meanwhile, and
        // status paints its state.
        let onTerminal = try ProcessRunner.start(["/usr/bin/script", "-qec", "\(schemagateBinary) wait --socket \(daemon.socket) --timeout 60", "/dev/null"],
                                                 environment: baseEnvironment.merging(["TERM": "xterm"]) { $1 })
        try await Task.sleep(for: .seconds(1.5))
        let painted = try await ProcessRunner.run(["/usr/bin/script", "-qec", "\(schemagateBinary) status --socket \(daemon.socket)", "/dev/null"],
                                            environment: baseEnvironment.merging(["TERM": "xterm"]) { $1 })
        #expect(painted.stdout.contains("\u{1B}[36mmigrating\u{1B}[0m"), "\(painted.stdout.debugDescription)")
        try await gate.open()
        let shown = await onTerminal.finished()
        #expect(shown.status == 0, "\(shown.all)")
        #expect(shown.stdout.contains("\u{1B}[K… migrating: applying 0003_slow (3 of 3)"), "\(shown.stdout.debugDescription)")
        #expect(shown.stdout.contains("\u{1B}[32mready\u{1B}[0m: schema at 3"), "coloured on a terminal")
        #expect(await daemon.listener.waitFor { $0 == "READY=1" })

        // --force: the live daemon needs version 2, so the fleet guard would refuse.
        #expect(try await schemagate(["rollback", "--to", "1", "--force", "--database-url", database.url, "--migrations", folder]).status == 0)
        let regressed = try await expectState(daemon.socket, "regressed", version: 1)
        #expect(regressed["ready"] as? Bool == false && regressed["current_version"] as? Int == 1)
        #expect(try await curl(daemon.socket, "/healthz").code == 503)
        #expect(try await curl(daemon.socket, "/wait?timeout=0.2").code == 503)
        #expect(try await schemagate(["status", "--socket", daemon.socket]).status == 3)
        #expect(try await curl(daemon.socket, "/metrics").body.contains("schemagate_ready 0"))
        #expect(await daemon.stop().status == 0)
    }

    @Test func failedAnswersParkedWaitsWith500() async throws {
        let database = try await TestDatabase()
        let gate = try await Gate(database)
        let folder = try auditFolder(count: 1, extra: ["0002_bad.up.sql": Gate.sql + "SELECT 1 / 0;\n"])
        let daemon = try startDaemon(database, folder: folder, extra: ["--ddl-lock-timeout", "5m"])
        _ = try await expectState(daemon.socket, "migrating")
        let curlWait = try ProcessRunner.start(["/usr/bin/curl", "-sS", "-w", "\n%{http_code}", "--max-time", "60",
                                                "--unix-socket", daemon.socket, "http://localhost/wait?timeout=60"])
        let cliWait = try startSchemagate(["wait", "--socket", daemon.socket])
        for _ in 0..<100 where await daemonParked(daemon.socket) < 2 { try await Task.sleep(for: .milliseconds(100)) }
        try await gate.open()
        let curlOutput = await curlWait.finished().stdout
        let answer = (code: Int(curlOutput.split(separator: "\n").last ?? "") ?? 0,
                      body: curlOutput.split(separator: "\n").dropLast().joined(separator: "\n"))
        #expect(answer.code == 500, "\(answer)")
        let failed = json(answer.body)
        #expect(failed["state"] as? String == "failed")
        #expect((failed["last_error"] as? String)?.contains("division by zero") == true, "\(failed)")
        let waited = await cliWait.finished()
        #expect(waited.status == 4 && waited.stderr.contains("the daemon failed: "), "\(waited.all)")
        #expect(await daemon.process.finished().status == 70)
        let gone = try await schemagate(["status", "--socket", daemon.socket])
        #expect(gone.status == 1 && gone.stderr.contains("no daemon answered on \(daemon.socket)"), "\(gone.all)")
    }

    @Test func theTCPListenerServesTheSameEndpoints() async throws {
        let database = try await TestDatabase()
        let port = try PostgresServer.freePort()
        let daemon = try startDaemon(database, folder: try auditFolder(count: 1), extra: ["--http", "127.0.0.1:\(port)"])
        #expect(await daemon.listener.waitFor { $0 == "READY=1" })
        let output = try await ProcessRunner.run(["/usr/bin/curl", "-s", "-w", " %{http_code}", "http://127.0.0.1:\(port)/healthz"])
        #expect(output.stdout.hasSuffix(" 200"), "\(output.all)")
        #expect(try await schemagate(["status", "--http", "127.0.0.1:\(port)"]).status == 0)
        #expect(await daemon.stop().status == 0)
    }

    /// Numbers from a client are range-checked: a huge, tiny or non-finite timeout never stops
    /// the daemon, over the socket or TCP, and `schemagate wait` refuses one it cannot hold.
    @Test func hostileTimeoutsNeitherTrapNorStopTheDaemon() async throws {
        let database = try await TestDatabase()
        let port = try PostgresServer.freePort()
        let daemon = try startDaemon(database, folder: try auditFolder(count: 1), extra: ["--http", "127.0.0.1:\(port)"])
        #expect(await daemon.listener.waitFor { $0 == "READY=1" })
        for timeout in ["1e16", "-1e300", "1e308", "9223372036854775807", "0.0000001", "nan", "inf", "-inf"] {
            let overSocket = try await curl(daemon.socket, "/wait?timeout=\(timeout)")
            #expect([200, 400].contains(overSocket.code), "timeout=\(timeout): \(overSocket)")
            let overTCP = try await ProcessRunner.run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                 "http://127.0.0.1:\(port)/wait?timeout=\(timeout)"])
            #expect(["200", "400"].contains(overTCP.stdout), "timeout=\(timeout) over TCP: \(overTCP.all)")
        }
        #expect(try await curl(daemon.socket, "/wait?timeout=nan").code == 400)
        for timeout in ["99999999999999999", "1e16", "-5", "nan"] {
            let wait = try await schemagate(["wait", "--socket", daemon.socket, "--timeout=\(timeout)"])
            #expect(wait.status == 2, "wait --timeout \(timeout): \(wait.all)")
            #expect(wait.stderr.contains("--timeout '\(timeout)'"), "\(wait.stderr)")
        }
        #expect(try await schemagate(["wait", "--socket", daemon.socket, "--timeout", "5s"]).status == 0)
        #expect(try await curl(daemon.socket, "/healthz").code == 200)
        #expect(await daemon.stop().status == 0)
    }

    @Test func fiveHundredParkedWaitsAreAnsweredAtReady() async throws {
        let database = try await TestDatabase()
        let gate = try await Gate(database)
        let folder = try auditFolder(count: 1, extra: ["0002_slow.up.sql": Gate.sql + "INSERT INTO audit (version) VALUES (2);\n"])
        let daemon = try startDaemon(database, folder: folder, extra: ["--ddl-lock-timeout", "5m"])
        _ = try await expectState(daemon.socket, "migrating")
        let before = residentKiB(daemon.process.pid)
        var during = 0
        let started = Date()
        let codes = await RawHTTP.concurrent(daemon.socket, path: "/wait?timeout=120", count: 500, opened: {
            for _ in 0..<300 where await daemonParked(daemon.socket) < 500 { try? await Task.sleep(for: .milliseconds(100)) }
            during = residentKiB(daemon.process.pid)
            let session = gate.session
            Task { _ = try? await session.query("SELECT pg_advisory_unlock(4242)") }
        }, timeout: .seconds(120))
        gate.session.close()
        let answered = Date()
        let readyAt = daemon.listener.timeOf { $0 == "READY=1" }
        #expect(codes.count == 500 && codes.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: codes.map { $0.map(String.init) ?? "none" }, by: { $0 }).mapValues(\.count))")
        #expect(readyAt != nil)
        let after = residentKiB(daemon.process.pid)
        print("500 parked /wait: RSS \(before) KiB before, \(during) KiB with all parked, \(after) KiB after; all answered \(String(format: "%.0f", answered.timeIntervalSince(readyAt ?? started) * 1000)) ms after READY=1")
        #expect(during < 64 * 1024, "RSS with 500 parked waits: \(during) KiB")
        #expect(try await curl(daemon.socket, "/healthz").code == 200)
        #expect(await daemon.stop().status == 0)
    }

    @Test func theSocketFileIsGuarded() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1)
        // A stale socket from a crashed run: bound, never unlinked, nobody listening.
        let stale = Self.socketPath()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(RawHTTP.withAddress(stale, { bind(fd, $0, $1) }) == 0)
        close(fd)
        #expect(FileManager.default.fileExists(atPath: stale))

        let daemon = try startDaemon(database, folder: folder, socket: stale, extra: ["--socket-group", "postgres"])
        #expect(await daemon.listener.waitFor { $0 == "READY=1" })
        var info = stat()
        #expect(stat(stale, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660, "mode \(String(info.st_mode & 0o777, radix: 8))")
        #expect(info.st_gid == getgrnam("postgres").pointee.gr_gid)
        #expect(try await curl(stale, "/healthz").code == 200)

        // A second daemon on a live daemon's socket fails clearly and takes nothing over.
        let second = try await schemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--socket", stale])
        #expect(second.status == 2, "\(second.all)")
        #expect(second.stderr == "schemagate: --socket '\(stale)': another schemagate daemon is serving this socket; stop it or give this one its own --socket\n")
        #expect(try await curl(stale, "/healthz").code == 200)
        #expect(await daemon.stop().status == 0)

        let long = "/tmp/" + String(repeating: "x", count: 120) + ".sock"
        let tooLong = try await schemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--socket", long])
        #expect(tooLong.status == 2 && tooLong.stderr.contains("longer than a Unix socket path may be (107)"), "\(tooLong.all)")

        let regular = NSTemporaryDirectory() + "sg-not-a-socket-\(UUID().uuidString.prefix(6))"
        try "keep me".write(toFile: regular, atomically: true, encoding: .utf8)
        let inTheWay = try await schemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--socket", regular])
        #expect(inTheWay.status == 2 && inTheWay.stderr.contains("a file that is not a socket is in the way"), "\(inTheWay.all)")
        #expect(try String(contentsOfFile: regular, encoding: .utf8) == "keep me")

        let noGroup = try await schemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--socket", Self.socketPath(), "--socket-group", "no-such-group"])
        #expect(noGroup.status == 2 && noGroup.stderr.contains("--socket-group 'no-such-group': no such group"), "\(noGroup.all)")
        #expect(try await database.version() == 1, "nothing else changed")
    }

    @Test func badClientsNeitherStallNorCrashTheDaemon() async throws {
        let database = try await TestDatabase()
        let daemon = try startDaemon(database, folder: try auditFolder(count: 1), extra: ["--client-timeout", "1s"])
        #expect(await daemon.listener.waitFor { $0 == "READY=1" })

        // A slow client sends half a request and then nothing.
        let slow = try #require(RawHTTP.connect(daemon.socket))
        RawHTTP.send(slow, Array("GET /status HTTP/1.1\r\nHost: sch".utf8))
        // Garbage bytes.
        let garbage = try #require(RawHTTP.connect(daemon.socket))
        RawHTTP.send(garbage, (0..<4096).map { _ in UInt8.random(in: 0...255) })
        // An oversized header.
        let oversized = try #require(RawHTTP.connect(daemon.socket))
        RawHTTP.send(oversized, Array("GET /status HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 64 * 1024))\r\n\r\n".utf8))

        // Meanwhile everyone else is answered.
        for _ in 0..<5 { #expect(try await curl(daemon.socket, "/healthz").code == 200) }
        let garbageAnswer = await RawHTTP.readAll(garbage, timeout: .seconds(5))
        #expect(garbageAnswer != nil, "garbage: the connection is closed")
        #expect(garbageAnswer.map { RawHTTP.statusCode($0) == nil || RawHTTP.statusCode($0) == 400 } ?? false)
        let oversizedAnswer = await RawHTTP.readAll(oversized, timeout: .seconds(5))
        #expect(oversizedAnswer != nil, "oversized header: the connection is closed")
        #expect(oversizedAnswer.map { RawHTTP.statusCode($0) != 200 } ?? false)
        // The slow client is cut off after --client-timeout (1s), not held forever.
        #expect(await RawHTTP.readAll(slow, timeout: .seconds(10)) != nil, "the half-sent request is closed after the client timeout")
        [slow, garbage, oversized].forEach { close($0) }

        #expect(try await curl(daemon.socket, "/status").code == 200)
        #expect(kill(daemon.process.pid, 0) == 0, "still running")
        #expect(await daemon.stop().status == 0)
    }
}

/// How many `/wait` requests the daemon holds parked (its `schemagate_parked_waits` gauge).
func daemonParked(_ socket: String) async -> Int {
    guard let output = try? await ProcessRunner.run(["/usr/bin/curl", "-sS", "--unix-socket", socket, "http://localhost/metrics"]),
          let line = output.stdout.split(separator: "\n").first(where: { $0.hasPrefix("schemagate_parked_waits ") }) else { return 0 }
    return Int(Double(line.split(separator: " ").last ?? "") ?? 0)
}

/// The resident set of a process, in KiB (from /proc).
func residentKiB(_ pid: Int32) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}
