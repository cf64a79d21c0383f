import SchemagateCore
import Testing

@Suite("contract gate")
struct ContractGateTests {
    /// Release B of the worked rename: 0001 table with `name`, 0002 adds `full_name`, 0003 drops `name`.
    let releaseB: [Migration] = try! MigrationFolder.parse(path: "m", entries: [
        .init(name: "0001_users.up.sql", bytes: Array("CREATE TABLE users (id int, name text);".utf8)),
        .init(name: "0002_full_name.up.sql", bytes: Array("ALTER TABLE users ADD full_name text;".utf8)),
        .init(name: "0003_drop_name.up.sql", bytes: Array("-- schemagate: contract\nALTER TABLE users DROP name;".utf8)),
    ]).get().migrations

    func member(_ pid: Int32, target: Int64, release: String? = nil, age: Int64 = 0) -> FleetMember {
        FleetMember(instanceID: "i\(pid)", host: "host-a", pid: pid, release: release ?? String(target), target: target, heartbeatAgeMilliseconds: age)
    }

    @Test func contractDirectiveCombinesWithNoTransaction() throws {
        let folder = try MigrationFolder.parse(path: "m", entries: [
            .init(name: "1_a.up.sql", bytes: Array("-- schemagate: contract, no-transaction\nDROP INDEX CONCURRENTLY i;".utf8)),
            .init(name: "2_b.up.sql", bytes: Array("-- schemagate: contract\nSELECT 1;".utf8)),
        ]).get()
        #expect(folder.migrations.map(\.contract) == [true, true])
        #expect(folder.migrations.map(\.transactional) == [false, true])
        #expect(releaseB.map(\.contract) == [false, false, true])
    }

    @Test func misplacedContractDirectiveNamesTheFile() {
        guard case .failure(let error) = MigrationFolder.parse(path: "m", entries: [
            .init(name: "1_a.up.sql", bytes: Array("SELECT 1;\n-- schemagate: contract\n".utf8)),
        ]) else { Issue.record("accepted a misplaced contract directive"); return }
        #expect(error.problems == [.misplacedDirective(file: "m/1_a.up.sql", line: 2)])
    }

    @Test func liveOldReleaseHoldsTheContractBack() {
        let gate = ContractGate(migrations: releaseB, applied: 1, target: 3, others: [member(812, target: 1), member(813, target: 3)], appliedContracts: [])
        #expect(gate.applyLimit == 2)
        #expect(gate.waits.map(\.migration.version) == [3])
        #expect(gate.waits.first?.holders.map(\.pid) == [812])
        #expect(gate.readiness == .pending)
        let after = ContractGate(migrations: releaseB, applied: 2, target: 3, others: [member(812, target: 1)], appliedContracts: [])
        #expect(after.applyLimit == 2)
        // A trailing contract migration does not hold its own release back.
        #expect(after.readiness == .ready)
    }

    @Test func lastOldInstanceGoneReleasesTheContract() {
        let gate = ContractGate(migrations: releaseB, applied: 2, target: 3, others: [member(813, target: 3)], appliedContracts: [])
        #expect(gate.applyLimit == 3)
        #expect(gate.waits.isEmpty)
        #expect(gate.readiness == .ready)
    }

    @Test func contractInTheMiddleHoldsLaterMigrationsAndReadiness() throws {
        let folder = try MigrationFolder.parse(path: "m", entries: [
            .init(name: "1_a.up.sql", bytes: Array("SELECT 1;".utf8)),
            .init(name: "2_b.up.sql", bytes: Array("-- schemagate: contract\nSELECT 2;".utf8)),
            .init(name: "3_c.up.sql", bytes: Array("SELECT 3;".utf8)),
        ]).get().migrations
        let gate = ContractGate(migrations: folder, applied: 0, target: 3, others: [member(9, target: 1)], appliedContracts: [])
        #expect(gate.applyLimit == 1)
        #expect(gate.readiness == .pending)
    }

    @Test func oldReleaseAfterTheContractIsIncompatible() {
        let releaseA = Array(releaseB.prefix(1))
        let applied = [ContractGate.AppliedContract(version: 3, name: "drop_name")]
        let gate = ContractGate(migrations: releaseA, applied: 3, target: 1, others: [member(813, target: 3)], appliedContracts: applied)
        #expect(gate.readiness == .incompatible(applied[0]))
        #expect(gate.applyLimit == 3)
        // A database ahead of an instance without a contract above its target stays ready, as before.
        let expandOnly = ContractGate(migrations: releaseA, applied: 2, target: 1, others: [], appliedContracts: applied)
        #expect(expandOnly.readiness == .ready)
        // Contract migrations at or below its own target never make an instance incompatible.
        let own = ContractGate(migrations: releaseB, applied: 3, target: 3, others: [], appliedContracts: applied)
        #expect(own.readiness == .ready)
    }

    @Test func waitMessageNamesReleaseAndInstances() {
        let gate = ContractGate(migrations: releaseB, applied: 2, target: 3,
                                others: [member(812, target: 1, release: "40"), member(814, target: 1, release: "40"), member(815, target: 3)],
                                appliedContracts: [])
        #expect(gate.waits.first?.description == "0003_drop_name waits for 2 instances on release 40: host-a pid 812, host-a pid 814")
    }

    @Test func expiryIsOneLeaseAndRollbackGuardNamesTheInstances() {
        #expect(member(1, target: 1, age: 1_999).isLive(leaseMilliseconds: 2_000))
        #expect(!member(1, target: 1, age: 2_000).isLive(leaseMilliseconds: 2_000))
        let fleet = [member(812, target: 1), member(813, target: 3)]
        #expect(ContractGate.rollbackBlockers(to: 1, fleet: fleet).map(\.pid) == [813])
        #expect(ContractGate.rollbackBlockers(to: 3, fleet: fleet).isEmpty)
    }
}

@Suite("release labels")
struct ReleaseLabelTests {
    @Test func labelsAreOneShortPrintableLine() throws {
        #expect(ReleaseLabel.problem(with: "2026.12.03-a1b2c3") == nil)
        #expect(ReleaseLabel.problem(with: String(repeating: "é", count: 100)) == nil)
        #expect(ReleaseLabel.problem(with: String(repeating: "é", count: 101)) == "--release is 202 bytes long; use at most 200")
        #expect(ReleaseLabel.problem(with: "a\nb") == "--release contains a control character; use printable text")
        #expect(ReleaseLabel.problem(with: "a\u{1B}[31m") != nil)
        #expect(ReleaseLabel.problem(with: "") != nil)
        let folder = try MigrationFolder.parse(path: "m", entries: [.init(name: "0007_a.up.sql", bytes: Array("SELECT 1;".utf8))]).get()
        #expect(ReleaseLabel.fallback(for: folder) == "7")
    }
}
