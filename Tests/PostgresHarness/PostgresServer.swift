import Foundation
import PQ
import Synchronization

/// A throwaway PostgreSQL cluster for the real-server tests: `initdb` + `pg_ctl` into a temp dir,
/// listening on a Unix socket and on 127.0.0.1 at a free port. Started once per test process;
/// each test takes its own database. A watcher process stops the server and removes the directory
/// when the test process ends, however it ends.
public final class PostgresServer: Sendable {
    public let directory: String
    public let port: Int
    public var socketDirectory: String { directory + "/socket" }
    var dataDirectory: String { directory + "/data" }
    /// Password of the `app` role (scram-sha-256), for authentication tests.
    public static let appPassword = "s3cret-Pa55word"

    private static let start = Result { try PostgresServer() }

    /// A cluster of its own, for a test that restarts the server under its clients (which must not
    /// disturb the tests sharing `shared()`). Stop it with `stop()`.
    public static func dedicated() throws -> PostgresServer {
        try PostgresServer()
    }

    /// Stops this cluster and removes its directory.
    public func stop() {
        Self.running.withLock { $0.removeAll { $0.directory == directory } }
        _ = try? Self.asServerUser([(try? Self.binDirectory()) ?? "", "-D", dataDirectory, "-m", "immediate", "-w", "stop"].enumerated().map { $0.offset == 0 ? $0.element + "/pg_ctl" : $0.element })
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The server for this test process, started on first use. A failure to start is reported by
    /// every test that needs it, with the reason: real-server tests never skip quietly.
    public static func shared() throws -> PostgresServer {
        try start.get()
    }

    /// A new cluster (`initdb`), or with `standbyOf` a streaming standby of that server
    /// (`pg_basebackup -R` of every database it holds at this moment, started in hot standby).
    init(standbyOf primary: PostgresServer? = nil) throws {
        let binaries = try Self.binDirectory()
        directory = try Self.makeDirectory()
        port = try Self.freePort()
        try FileManager.default.createDirectory(atPath: directory + "/socket", withIntermediateDirectories: true)
        try Self.giveToServerUser(directory)
        if let primary {
            try Self.check(Self.asServerUser([
                binaries + "/pg_basebackup", "-D", directory + "/data", "-h", primary.socketDirectory, "-p", String(primary.port),
                "-U", "postgres", "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
            ]), "pg_basebackup")
        } else {
            try initializeData(binaries: binaries)
        }
        // A standby's copied postgresql.conf names the primary's port and sockets: later lines win.
        try (try String(contentsOfFile: directory + "/data/postgresql.conf", encoding: .utf8)
             + "\nport = \(port)\nunix_socket_directories = '\(directory)/socket'\n")
            .write(toFile: directory + "/data/postgresql.conf", atomically: true, encoding: .utf8)
        try Self.giveToServerUser(directory)
        try Self.check(Self.asServerUser([
            binaries + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "start",
        ]), "pg_ctl start")
        try Self.startWatcher(binaries: binaries, directory: directory)
        atexit { PostgresServer.stopAtExit() }
        Self.running.withLock { $0.append((binaries, directory)) }
        if primary == nil { try createRole() }
    }

    /// `initdb`, the access rules (trust, but a password for `app`; replication for standbys) and
    /// settings for speed over durability.
    private func initializeData(binaries: String) throws {
        try Self.check(Self.asServerUser([
            binaries + "/initdb", "-D", directory + "/data", "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C",
        ]), "initdb")
        let hba = """
        local all app scram-sha-256
        local all all trust
        local replication all trust
        host all app 127.0.0.1/32 scram-sha-256
        host all all 127.0.0.1/32 trust
        """
        try hba.write(toFile: directory + "/data/pg_hba.conf", atomically: true, encoding: .utf8)
        let settings = """
        listen_addresses = '127.0.0.1'
        max_connections = 1000
        fsync = off
        synchronous_commit = off
        full_page_writes = off
        shared_buffers = 64MB
        log_min_messages = warning
        """
        try (try String(contentsOfFile: directory + "/data/postgresql.conf", encoding: .utf8) + "\n" + settings + "\n")
            .write(toFile: directory + "/data/postgresql.conf", atomically: true, encoding: .utf8)
    }

    /// A new empty database for one test; returns its connection string (Unix socket).
    public func createDatabase() async throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await psql("postgres", "CREATE DATABASE \(name)")
        return connectionString(database: String(name))
    }

    public func connectionString(database: String, user: String = "postgres") -> String {
        "host=\(socketDirectory) port=\(port) dbname=\(database) user=\(user)"
    }

    /// `postgresql://` URL over TCP for the password-protected `app` role.
    public func appURL(database: String, password: String = PostgresServer.appPassword) -> String {
        "postgresql://app:\(password)@127.0.0.1:\(port)/\(database)"
    }

    /// Runs SQL through psql (a client no one here wrote) and returns its unaligned output.
    @discardableResult
    public func psql(_ database: String, _ sql: String) async throws -> String {
        let output = try await ProcessRunner.run([
            "/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", socketDirectory, "-p", String(port), "-U", "postgres", "-d", database, "-c", sql,
        ])
        guard output.status == 0 else {
            throw HarnessError("psql failed (\(output.status)): \(output.stderr)")
        }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Restarts the server (`pg_ctl restart -m fast`), dropping every connection.
    public func restart() async throws {
        try Self.check(await Self.asServerUserAsync([
            try Self.binDirectory() + "/pg_ctl", "-D", dataDirectory, "-l", directory + "/server.log", "-w", "-m", "fast", "restart",
        ]), "pg_ctl restart")
    }

    private func createRole() throws {
        try Self.check(ProcessRunner.runBlocking([
            "/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port),
            "-U", "postgres", "-d", "postgres", "-c", "CREATE ROLE app LOGIN PASSWORD '\(Self.appPassword)' CREATEDB",
        ]), "CREATE ROLE app")
    }

    // MARK: - Process plumbing

    static let running = Mutex<[(binaries: String, directory: String)]>([])

    private static func stopAtExit() {
        for (binaries, directory) in running.withLock({ $0 }) {
            _ = try? asServerUser([binaries + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// A detached shell that outlives a crashed test process and cleans up after it.
    static func startWatcher(binaries: String, directory: String) throws {
        let pid = ProcessInfo.processInfo.processIdentifier
        let stop = asServerUserPrefix().map { "'\($0)'" }.joined(separator: " ")
        let script = """
        while kill -0 \(pid) 2>/dev/null; do sleep 1; done
        if [ -f '\(directory)/data/postmaster.pid' ]; then \(stop) '\(binaries)/pg_ctl' -D '\(directory)/data' -m immediate -w stop >/dev/null 2>&1; fi
        rm -rf '\(directory)'
        """
        _ = try ProcessRunner.start(["/bin/sh", "-c", script], newSession: true)
    }

    static func binDirectory() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["PG_BINDIR"] { return configured }
        for candidate in ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"]
        where FileManager.default.isExecutableFile(atPath: candidate + "/initdb") {
            return candidate
        }
        throw HarnessError("PostgreSQL server binaries not found (looked for initdb in /usr/lib/postgresql/*/bin); install the postgresql package (scripts/test does) or set PG_BINDIR")
    }

    static func makeDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "schemagate-pg-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// initdb and postgres refuse to run as root: as root, run them as the `postgres` user.
    static func asServerUserPrefix() -> [String] {
        getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
    }

    /// Blocking: for set-up and tear-down only (see `ProcessRunner.runBlocking`).
    static func asServerUser(_ arguments: [String]) throws -> ProcessOutput {
        try ProcessRunner.runBlocking(asServerUserPrefix() + arguments)
    }

    /// For what a test does while its clients run (restart, promote, stop).
    static func asServerUserAsync(_ arguments: [String]) async throws -> ProcessOutput {
        try await ProcessRunner.run(asServerUserPrefix() + arguments)
    }

    static func giveToServerUser(_ path: String) throws {
        guard getuid() == 0 else { return }
        try check(ProcessRunner.runBlocking(["/bin/chown", "-R", "postgres:postgres", path]), "chown")
    }

    static func check(_ output: ProcessOutput, _ what: String) throws {
        guard output.status == 0 else {
            throw HarnessError("\(what) failed with status \(output.status): \(output.stderr)\(output.stdout)")
        }
    }

    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessError("no free TCP port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
