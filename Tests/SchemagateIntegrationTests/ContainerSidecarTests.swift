import Foundation
import PostgresHarness
import Testing

/// The daemon as Kubernetes runs a native sidecar container: a plain process with no systemd (no
/// `NOTIFY_SOCKET`, no runtime directory), probed over TCP, stopped with SIGTERM, logging JSON.
@Suite("container sidecar without systemd")
struct ContainerSidecarTests {
    func probe(_ port: Int, _ path: String) async throws -> Int {
        let output = try await ProcessRunner.run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                                            "http://127.0.0.1:\(port)\(path)"])
        return Int(output.stdout) ?? 0
    }

    @Test func probesFollowTheSchemaAndSIGTERMEndsCleanly() async throws {
        let database = try await TestDatabase()
        let gate = try await StatusSocketTests.Gate(database)
        let folder = try auditFolder(count: 1, extra: ["0002_slow.up.sql": StatusSocketTests.Gate.sql + "CREATE TABLE slow (id int);\n"])
        let port = try PostgresServer.freePort()
        // baseEnvironment has no NOTIFY_SOCKET, RUNTIME_DIRECTORY or JOURNAL_STREAM: as in a container.
        let daemon = try startSchemagate(["daemon", "--database-url", database.url, "--migrations", folder,
                                          "--http", "127.0.0.1:\(port)", "--log-format", "json"])
        try await waitUntil(seconds: 30) { try await probe(port, "/healthz") == 503 }
        // Migrating: not ready on either probe name, so a startupProbe holds the app back.
        try await waitUntil(seconds: 30) { try await database.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "1" }
        #expect(try await probe(port, "/healthz") == 503)
        #expect(try await probe(port, "/readyz") == 503)
        try await gate.open()
        try await waitUntil(seconds: 30) { try await probe(port, "/readyz") == 200 }
        #expect(try await probe(port, "/healthz") == 200)
        #expect(try await database.version() == 2)

        daemon.signal(SIGTERM)
        let output = await daemon.finished()
        #expect(output.status == 0, "\(output.all)")
        // Every log line is one JSON object (the stream a container runtime collects), and the
        // ready event is among them.
        let lines = output.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "not JSON: \(lines.filter { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) == nil })")
        #expect(objects.contains { $0["event"] as? String == "ready" })
        #expect(output.stdout.isEmpty, "\(output.stdout)")
        // Gone with the process: nothing answers on the port any more.
        #expect(try await probe(port, "/healthz") == 0)
    }
}
