import Foundation
import PostgresHarness
import Testing

/// The built `schemagate` executable, next to this test binary in the build folder.
let schemagateBinary: String = {
    if let path = ProcessInfo.processInfo.environment["SCHEMAGATE_BIN"] { return path }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: me).deletingLastPathComponent()
    while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("schemagate").path),
          directory.path != "/" {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("schemagate").path
}()

/// Runs `schemagate` with a clean environment (no SCHEMAGATE_* or PG* leaking in from outside).
func schemagate(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessOutput {
    try await ProcessRunner.run([schemagateBinary] + arguments, environment: baseEnvironment.merging(environment) { $1 })
}

func startSchemagate(_ arguments: [String], environment: [String: String] = [:]) throws -> RunningProcess {
    try ProcessRunner.start([schemagateBinary] + arguments, environment: baseEnvironment.merging(environment) { $1 })
}

let baseEnvironment: [String: String] = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"]

/// One test's own database on the shared throwaway server.
struct TestDatabase {
    let server: PostgresServer
    let url: String
    let name: String

    init(on server: PostgresServer? = nil) async throws {
        self.server = try server ?? PostgresServer.shared()
        url = try await self.server.createDatabase()
        name = url.split(separator: " ").first { $0.hasPrefix("dbname=") }!.dropFirst("dbname=".count).description
    }

    /// A database that already exists on `server` (a standby's copy of one, after a failover).
    private init(existing name: String, on server: PostgresServer) {
        self.server = server
        self.name = name
        url = server.connectionString(database: name)
    }

    static func existing(_ name: String, on server: PostgresServer) -> TestDatabase {
        TestDatabase(existing: name, on: server)
    }

    @discardableResult
    func sql(_ statement: String) async throws -> String {
        try await server.psql(name, statement)
    }

    /// Every user table and schemagate's rows, to prove that a bad input changed nothing.
    func fingerprint(settingsTable: String = "schemagate_settings") async throws -> String {
        let tables = try await sql("""
        SELECT coalesce(string_agg(format('%s.%s', table_schema, table_name), ',' ORDER BY 1), '')
        FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
        """)
        let rows = (try? await sql("SELECT string_agg(key || '=' || value::text, ',' ORDER BY key) FROM \(settingsTable) WHERE key <> 'migration_lock'")) ?? ""
        let history = (try? await sql("SELECT count(*) FROM schemagate_history")) ?? ""
        return [tables, rows, history].joined(separator: "|")
    }

    /// The user schema as pg_dump prints it, schemagate's own tables (and `excluding`, e.g. another
    /// tool's history table) left out, without comments and the random `\restrict` key of newer
    /// pg_dump releases.
    func schemaDump(excluding: [String] = []) async throws -> String {
        let dump = try await ProcessRunner.run(["/usr/lib/postgresql/15/bin/pg_dump", "--schema-only", "--no-owner", "--exclude-table=schemagate_*"]
                                         + excluding.map { "--exclude-table=\($0)" } + ["--dbname=\(url)"])
        #expect(dump.status == 0, "\(dump.all)")
        return dump.stdout.split(separator: "\n").filter { !$0.hasPrefix("--") && !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
    }

    func version(table: String = "schemagate_settings") async throws -> Int {
        Int(try await sql("SELECT value->>'version' FROM \(table) WHERE key = 'schema_version'")) ?? -1
    }
}

/// A migrations folder in a temp dir, from file name → contents.
func makeFolder(_ files: [String: String]) throws -> String {
    let path = NSTemporaryDirectory() + "schemagate-migrations-" + UUID().uuidString.prefix(8)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    for (name, text) in files {
        try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
    }
    return path
}

/// N migrations that each create a table and insert one audit row: exactly one row per version
/// proves each was applied once.
func auditFolder(count: Int, extra: [String: String] = [:]) throws -> String {
    var files: [String: String] = ["0001_audit.up.sql": "CREATE TABLE audit (version int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());\nINSERT INTO audit (version) VALUES (1);\n"]
    for version in 2...max(2, count) where version <= count {
        files[String(format: "%04d_step_%d.up.sql", version, version)] =
            "CREATE TABLE step_\(version) (id int);\nINSERT INTO audit (version) VALUES (\(version));\n"
        files[String(format: "%04d_step_%d.down.sql", version, version)] = "DROP TABLE step_\(version);\nDELETE FROM audit WHERE version = \(version);\n"
    }
    return try makeFolder(files.merging(extra) { $1 })
}

/// The repository's example migrations.
let exampleMigrations: String = {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("migrations").path
}()

/// Polls `condition` (errors count as false) every 20ms for up to `seconds`.
func waitUntil(seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("condition not met within \(seconds)s")
}
