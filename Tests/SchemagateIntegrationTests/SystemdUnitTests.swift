import Foundation
import PostgresHarness
import SchemagateCore
import Testing

/// The files under systemd/, checked with systemd's own tools, and the synchronous reload.
@Suite("systemd units, catalog and reload")
struct SystemdUnitTests {
    let systemdFolder = URL(fileURLWithPath: exampleMigrations).deletingLastPathComponent().appendingPathComponent("systemd").path

    /// The units with ExecStart= pointing at the built binary (verify checks that it exists).
    func stagedUnits() throws -> String {
        let staging = try makeFolder([:])
        for name in ["schemagate@.service", "example-app.service"] {
            let text = try String(contentsOfFile: systemdFolder + "/" + name, encoding: .utf8)
                .replacingOccurrences(of: "/usr/bin/schemagate", with: schemagateBinary)
            try text.write(toFile: staging + "/" + name, atomically: true, encoding: .utf8)
        }
        return staging
    }

    /// `--man=no`: the man page of `Documentation=` exists only once the package is installed;
    /// PackageInstallTests runs verify with it, inside the container.
    @Test func systemdAnalyzeVerifyPrintsNothing() async throws {
        let staging = try stagedUnits()
        let result = try await ProcessRunner.run(["/usr/bin/systemd-analyze", "verify", "--man=no", staging + "/schemagate@app.service", staging + "/example-app.service"],
                                           environment: ["PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "notice"])
        #expect(result.all.isEmpty, "\(result.all)")
    }

    @Test func theTemplateIsHardenedToOnePointFiveOrBetter() async throws {
        let staging = try stagedUnits()
        let result = try await ProcessRunner.run(["/usr/bin/systemd-analyze", "security", "--offline=yes", staging + "/schemagate@.service"],
                                           environment: ["PATH": "/usr/bin:/bin", "SYSTEMD_COLORS": "0"])
        let line = result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") }
        // "→ Overall exposure level for schemagate@i.service: 1.4 OK :-)"
        let figure = line.flatMap { $0.components(separatedBy: ".service: ").last?.split(separator: " ").first }.flatMap { Double($0) }
        print("systemd-analyze security: \(figure.map { String($0) } ?? "?")")
        #expect(figure != nil && figure! <= 1.5, "\(line ?? Substring(result.all))")
    }

    @Test func theCatalogExplainsEveryEvent() async throws {
        let catalog = try String(contentsOfFile: systemdFolder + "/schemagate.catalog", encoding: .utf8)
        for event in SchemagateEvent.allCases {
            #expect(catalog.contains("-- \(event.messageID)\nSubject: "), "no catalog entry for \(event.rawValue)")
        }
        #expect(Set(SchemagateEvent.allCases.map(\.messageID)).count == SchemagateEvent.allCases.count)
    }

    /// Boots a real systemd (systemd-nspawn over an overlay of this machine's root) and checks,
    /// with systemctl and journalctl inside: the app starts only after READY=1, two sidecars apply
    /// each migration once, journal fields and catalog text, synchronous reload, a failing
    /// migration keeps the app stopped, stop mid-migration leaves no lock, and a regression stops
    /// the app bound with BindsTo=.
    @Test func underARealSystemd() async throws {
        guard getuid() == 0 else {
            Issue.record("booting a container with systemd-nspawn needs root; run scripts/test as root")
            return
        }
        let repository = URL(fileURLWithPath: systemdFolder).deletingLastPathComponent().path
        let result = try await ProcessRunner.run(["/bin/bash", repository + "/scripts/lib/systemd-test.sh", schemagateBinary, repository],
                                           environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        print(result.stdout)
        #expect(result.status == 0, "\(result.all.suffix(3000))")
        #expect(result.stdout.contains("all systemd checks passed"))
    }

    @Test func reloadReturnsOnceTheDaemonHasMigrated() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        let state = try makeFolder([:]) + "/schemagate.state"
        let listener = try NotifyListener()
        let daemon = try startSchemagate(["daemon", "--database-url", database.url, "--migrations", folder, "--state-file", state],
                                         environment: ["NOTIFY_SOCKET": listener.path])
        #expect(await listener.waitFor { $0 == "READY=1" })
        try "CREATE TABLE step_3 (id int);\nSELECT pg_sleep(0.5);\nINSERT INTO audit (version) VALUES (3);\n"
            .write(toFile: folder + "/0003_step_3.up.sql", atomically: true, encoding: .utf8)
        let reload = try await schemagate(["reload", "--pid", String(daemon.pid), "--state-file", state])
        #expect(reload.status == 0, "\(reload.all)")
        #expect(reload.stdout.contains("reloaded: schema at 3"))
        // Synchronous: by the time reload returned, the migration was committed.
        #expect(try await database.version() == 3)

        try "SELEC 1;\n".write(toFile: folder + "/0004_bad.up.sql", atomically: true, encoding: .utf8)
        let failed = try await schemagate(["reload", "--pid", String(daemon.pid), "--state-file", state])
        #expect(failed.status != 0, "\(failed.all)")
        #expect(failed.stderr.contains("0004_bad.up.sql"), "\(failed.all)")
        let exited = await daemon.finished()
        #expect(exited.status == 70)
    }
}
