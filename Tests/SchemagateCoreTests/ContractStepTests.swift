import SchemagateCore
import Testing

/// What a migrate run does next, for each policy, on the worked rename (0003 is the contract).
@Suite("contract step")
struct ContractStepTests {
    let releaseB: [Migration] = try! MigrationFolder.parse(path: "m", entries: [
        .init(name: "0001_people.up.sql", bytes: Array("CREATE TABLE people (id int, name text);".utf8)),
        .init(name: "0002_full_name.up.sql", bytes: Array("ALTER TABLE people ADD full_name text;".utf8)),
        .init(name: "0003_drop_name.up.sql", bytes: Array("-- schemagate: contract\nALTER TABLE people DROP name;".utf8)),
    ]).get().migrations
    let old = FleetMember(instanceID: "a", host: "app-1", pid: 812, release: "A", target: 1, heartbeatAgeMilliseconds: 100)

    func gate(applied: Int64, target: Int64 = 3, others: [FleetMember], contracts: [ContractGate.AppliedContract] = []) -> ContractGate {
        ContractGate(migrations: releaseB, applied: applied, target: target, others: others, appliedContracts: contracts)
    }

    @Test func appliesUpToJustBelowAHeldBackContract() {
        for policy in [ContractPolicy.applyAllowed, .waitForContracts, .untilReady] {
            #expect(gate(applied: 0, others: [old]).step(current: 0, policy: policy, waitedTooLong: false) == .apply(upTo: 2))
        }
    }

    @Test func atTheLimitEachPolicyDecidesItsOwnWay() {
        let held = gate(applied: 2, others: [old])
        #expect(held.step(current: 2, policy: .applyAllowed, waitedTooLong: false) == .finish)
        #expect(held.step(current: 2, policy: .untilReady, waitedTooLong: false) == .finish, "a trailing contract does not hold readiness back")
        #expect(held.step(current: 2, policy: .waitForContracts, waitedTooLong: false) == .wait)
        guard case .giveUp(let wait) = held.step(current: 2, policy: .waitForContracts, waitedTooLong: true) else {
            Issue.record("--wait-for-contract did not give up after --lock-wait"); return
        }
        #expect(wait.migration.version == 3 && wait.holders == [old])
    }

    @Test func onceTheOldInstanceIsGoneTheContractIsApplied() {
        let free = gate(applied: 2, others: [])
        #expect(free.step(current: 2, policy: .untilReady, waitedTooLong: false) == .apply(upTo: 3))
        #expect(gate(applied: 3, others: []).step(current: 3, policy: .waitForContracts, waitedTooLong: false) == .finish)
    }

    @Test func aDaemonWaitsWhileAContractInTheMiddleHoldsItsOwnMigrationsBack() {
        var middle = releaseB
        middle.append(try! MigrationFolder.parse(path: "m", entries: [
            .init(name: "0004_index.up.sql", bytes: Array("CREATE INDEX ON people (full_name);".utf8)),
        ]).get().migrations[0])
        let held = ContractGate(migrations: middle, applied: 2, target: 4, others: [old], appliedContracts: [])
        #expect(held.step(current: 2, policy: .untilReady, waitedTooLong: true) == .wait, "the daemon is not bounded by --lock-wait here")
        #expect(held.step(current: 2, policy: .applyAllowed, waitedTooLong: false) == .finish)
    }

    @Test func anAppliedContractAboveTheTargetIsIncompatibleBeforeAnythingElse() {
        let dropped = ContractGate.AppliedContract(version: 3, name: "drop_name")
        let releaseA = Array(releaseB.prefix(1))
        let gate = ContractGate(migrations: releaseA, applied: 3, target: 1, others: [], appliedContracts: [dropped])
        #expect(gate.step(current: 3, policy: .untilReady, waitedTooLong: false) == .incompatible(dropped))
        #expect(gate.step(current: 3, policy: .applyAllowed, waitedTooLong: false) == .incompatible(dropped))
    }

    @Test func atExactlyTheTargetTheFleetCannotChangeTheStep() {
        let contracts = [ContractGate.AppliedContract(version: 3, name: "drop_name")]
        for target: Int64 in 1...3 {
            #expect(!ContractGate.needsFleet(applied: target, target: target))
            for others in [[], [old]] {
                for applied in [[], contracts] {
                    for policy in [ContractPolicy.applyAllowed, .waitForContracts, .untilReady] {
                        #expect(gate(applied: target, target: target, others: others, contracts: applied)
                            .step(current: target, policy: policy, waitedTooLong: true) == .finish)
                    }
                }
            }
        }
        #expect(ContractGate.needsFleet(applied: 2, target: 3), "pending: a contract may be held back")
        #expect(ContractGate.needsFleet(applied: 3, target: 1), "ahead: an applied contract may break this release")
    }
}
