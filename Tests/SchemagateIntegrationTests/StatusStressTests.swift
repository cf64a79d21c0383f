import Foundation
import PostgresHarness
import Testing

/// Many `schemagate status` and curl calls at once, across state changes, on several daemons:
/// every answer is a status, never "went away" or a closed channel.
@Suite("status socket under a storm of clients")
struct StatusStressTests {
    @Test func clientsAcrossStateChangesAlwaysGetAnAnswer() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2, extra: [
            "0003_slow.up.sql": "SELECT pg_sleep(2);\nCREATE TABLE slow (id int);\n",
        ])
        let sockets = (0..<3).map { _ in "/tmp/sg-\(UUID().uuidString.prefix(8)).sock" }
        let daemons = try sockets.map { socket in
            try startSchemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--socket", socket])
        }
        try await waitUntil(seconds: 120) { sockets.allSatisfy { FileManager.default.fileExists(atPath: $0) } }
        // Clients run from before the migration ends until after all are ready: waiting,
        // migrating and ready states, and the transitions between them.
        let outputs = await withTaskGroup(of: [ProcessOutput].self) { group in
            for socket in sockets {
                for client in 0..<2 {
                    group.addTask {
                        var seen: [ProcessOutput] = []
                        for _ in 0..<25 {
                            let arguments = client == 0
                                ? [schemagateBinary, "status", "--socket", socket]
                                : ["/usr/bin/curl", "-sS", "--max-time", "10", "--unix-socket", socket, "http://localhost/status"]
                            if let output = try? await ProcessRunner.start(arguments, environment: baseEnvironment).finished() {
                                seen.append(output)
                            }
                        }
                        return seen
                    }
                }
            }
            var all: [ProcessOutput] = []
            for await outputs in group { all += outputs }
            return all
        }
        #expect(outputs.count == 150)
        // 0 ready, 3 not ready: both are answers. Anything else is a client that got none.
        let broken = outputs.filter { !($0.status == 0 || $0.status == 3) || $0.all.contains("went away") || $0.all.contains("closed") }
        #expect(broken.isEmpty, "\(broken.count) calls got no status; first: \(broken.first?.all ?? "")")
        #expect(outputs.contains { $0.stdout.contains("ready") })
        try await waitUntil(seconds: 120) { try await database.version() == 3 }
        for daemon in daemons { daemon.signal(SIGTERM) }
        for daemon in daemons { #expect(await daemon.finished().status == 0) }
        #expect(try await database.sql("SELECT count(*) FROM schemagate_history WHERE version = 3 AND direction = 'up'") == "1")
    }
}
