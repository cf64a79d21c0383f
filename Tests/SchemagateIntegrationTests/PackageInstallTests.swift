import Foundation
import PostgresHarness
import Testing

/// The Debian package as an operator meets it: built by scripts/package (incremental; scripts/test
/// builds it before the suite), installed with dpkg -i in a container booted with systemd-nspawn,
/// configured through /etc/schemagate/demo.env, started, read in the journal, removed with dpkg -r.
@Suite("Debian package")
struct PackageInstallTests {
    let repository = URL(fileURLWithPath: exampleMigrations).deletingLastPathComponent().path

    @Test func installsStartsAndRemovesCleanlyUnderARealSystemd() async throws {
        guard getuid() == 0 else {
            Issue.record("dpkg -i in a container booted with systemd-nspawn needs root; run scripts/test as root")
            return
        }
        let path = "/usr/sbin:/usr/bin:/sbin:/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "")
        let started = Date()
        let package = try await ProcessRunner.run([repository + "/scripts/package"], environment: ["PATH": path, "HOME": NSHomeDirectory()])
        try #require(package.status == 0, "\(package.all.suffix(3000))")
        let deb = repository + "/" + package.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        print("scripts/package: \(deb) in \(Int(Date().timeIntervalSince(started)))s")

        let result = try await ProcessRunner.run(["/bin/bash", repository + "/scripts/lib/package-test.sh", deb, repository],
                                           environment: ["PATH": path])
        print(result.stdout)
        #expect(result.status == 0, "\(result.all.suffix(3000))")
        #expect(result.stdout.contains("all package checks passed"))
    }
}
