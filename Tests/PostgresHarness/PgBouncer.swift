import Foundation

/// PgBouncer from Debian's package in transaction pooling mode, in front of a `PostgresServer`,
/// on 127.0.0.1 at a free port. Stopped by `stop()` and, whatever happens, when the test process ends.
public final class PgBouncer: Sendable {
    public let port: Int
    let directory: String

    public init(in server: PostgresServer) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer") else {
            throw HarnessError("/usr/sbin/pgbouncer not found: install Debian's pgbouncer package (scripts/test does)")
        }
        directory = server.directory + "/pgbouncer-" + UUID().uuidString.prefix(8)
        port = try PostgresServer.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = """
        [databases]
        * = host=\(server.socketDirectory) port=\(server.port) user=postgres

        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = \(port)
        unix_socket_dir =
        auth_type = any
        pool_mode = transaction
        max_client_conn = 1000
        default_pool_size = 20
        server_reset_query =
        ignore_startup_parameters = extra_float_digits
        pidfile = \(directory)/pgbouncer.pid
        logfile = \(directory)/pgbouncer.log
        """
        try configuration.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        try PostgresServer.giveToServerUser(directory)
        let started = try ProcessRunner.runBlocking(PostgresServer.asServerUserPrefix() + ["/usr/sbin/pgbouncer", "-d", directory + "/pgbouncer.ini"])
        guard started.status == 0 else { throw HarnessError("pgbouncer failed to start: \(started.all)") }
        let deadline = Date().addingTimeInterval(10)
        while pid == nil && Date() < deadline { usleep(50_000) }
        guard let pid else { throw HarnessError("pgbouncer wrote no pid file") }
        // Like the server's watcher: stop it when the test process ends, however it ends.
        let me = ProcessInfo.processInfo.processIdentifier
        _ = try ProcessRunner.start(["/bin/sh", "-c", "while kill -0 \(me) 2>/dev/null; do sleep 1; done; kill \(pid) 2>/dev/null; sleep 2; kill -9 \(pid) 2>/dev/null"], newSession: true)
    }

    var pid: Int32? {
        (try? String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// A connection string through the pooler to `database` of the server.
    public func connectionString(database: String) -> String {
        "host=127.0.0.1 port=\(port) dbname=\(database) user=postgres"
    }

    /// SIGTERM, then SIGKILL after two seconds: PgBouncer 1.18 was seen ignoring SIGTERM and
    /// SIGINT while its server had gone away.
    public func stop() {
        guard let pid else { return }
        kill(pid, SIGTERM)
        for _ in 0..<20 where kill(pid, 0) == 0 { usleep(100_000) }
        kill(pid, SIGKILL)
    }
}
