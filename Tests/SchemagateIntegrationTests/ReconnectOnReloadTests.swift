import Foundation
import PostgresHarness
import Testing

/// A rotated database password is taken up by `systemctl reload` (SIGHUP): the daemon reads its
/// URL again, tries it on a connection of its own, and only then leaves the old one. A URL that
/// does not work changes nothing: the daemon stays ready on the old connection.
@Suite("password rotation on reload", .serialized)
struct ReconnectOnReloadTests {
    /// Where the password lives: in the URL of the credential file (rotated by rewriting the
    /// file), or in a libpq passfile the URL names (rotated by rewriting the passfile; the URL
    /// stays the same, which is the way under a systemd that copies credentials at start).
    enum Holder: CaseIterable { case credential, passfile }

    @Test(arguments: Holder.allCases)
    func reloadTakesUpARotatedPasswordAndRefusesABadOne(_ holder: Holder) async throws {
        // A cluster of its own: the test changes the password of the server's `app` role.
        let server = try PostgresServer.dedicated()
        defer { server.stop() }
        let database = try await TestDatabase(on: server)
        // Made up for this run, for a cluster that lives as long as the test.
        let rotated = "rotated-\(UUID().uuidString.prefix(12))", wrong = "wrong-\(UUID().uuidString.prefix(12))"
        try await database.sql("ALTER DATABASE \(database.name) OWNER TO app")
        let credentials = try makeFolder([:])
        let passfile = credentials + "/pgpass"
        func useCredential(_ password: String) throws {
            switch holder {
            case .credential:
                try server.appURL(database: database.name, password: password)
                    .write(toFile: credentials + "/database-url", atomically: true, encoding: .utf8)
            case .passfile:
                try "127.0.0.1:\(server.port):\(database.name):app:\(password)\n".write(toFile: passfile, atomically: true, encoding: .utf8)
                chmod(passfile, 0o600)  // libpq ignores a passfile others can read
                try "postgresql://app@127.0.0.1:\(server.port)/\(database.name)?passfile=\(passfile)"
                    .write(toFile: credentials + "/database-url", atomically: true, encoding: .utf8)
            }
        }
        try useCredential(PostgresServer.appPassword)
        let folder = try auditFolder(count: 1)
        func addMigration(_ version: Int) throws {
            try "CREATE TABLE step_\(version) (id int);\nINSERT INTO audit (version) VALUES (\(version));\n"
                .write(toFile: folder + "/000\(version)_step_\(version).up.sql", atomically: true, encoding: .utf8)
        }
        let state = try makeFolder([:]) + "/schemagate.state"
        let listener = try NotifyListener()
        let daemon = try startSchemagate(["daemon", "--migrations", folder, "--state-file", state, "--watch-interval", "200ms"],
                                         environment: ["CREDENTIALS_DIRECTORY": credentials, "NOTIFY_SOCKET": listener.path])
        #expect(await listener.waitFor { $0 == "READY=1" })
        func reload() async throws -> ProcessOutput {
            try await schemagate(["reload", "--pid", "\(daemon.pid)", "--state-file", state, "--timeout", "60s"])
        }

        // The procedure: the role's new password first (open sessions keep working), then the
        // credential, then a reload.
        try await database.sql("ALTER ROLE app PASSWORD '\(rotated)'")
        try useCredential(rotated)
        try addMigration(2)
        let reloaded = try await reload()
        #expect(reloaded.status == 0, "\(reloaded.all)")
        #expect(try await database.version() == 2)
        // Every session the daemon opens from now on uses the new password: end them all, and
        // the next reload still migrates.
        try await database.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'")
        try addMigration(3)
        let again = try await reload()
        #expect(again.status == 0, "\(again.all)")
        #expect(try await database.version() == 3)

        // A credential that the server refuses: the reload says so (77) and does nothing; the
        // daemon keeps its working connection and stays up.
        try useCredential(wrong)
        try addMigration(4)
        let refused = try await reload()
        #expect(refused.status == 77, "\(refused.all)")
        #expect(refused.stderr.contains("still using the previous one") && refused.stderr.contains("authentication refused"), "\(refused.stderr)")
        #expect(try await database.version() == 3)
        #expect(kill(daemon.pid, 0) == 0, "the daemon left")

        daemon.signal(SIGTERM)
        let output = await daemon.finished()
        #expect(output.status == 0, "\(output.all)")
        for secret in [PostgresServer.appPassword, rotated, wrong] {
            #expect(!output.all.contains(secret) && !refused.all.contains(secret), "a password was printed")
        }
    }
}
