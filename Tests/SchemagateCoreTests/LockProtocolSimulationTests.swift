import SchemagateCore
import Testing

/// Drives several `LockProtocol` machines against one simulated database, in random order, with
/// random stalls (a holder paused past its lease) and deaths, and checks the protocol's
/// invariants after every step: a machine decides to migrate only while the lock row names it,
/// every version is applied exactly once, and every living machine finishes ready.
@Suite("lock protocol under random interleavings")
struct LockProtocolSimulationTests {
    /// The coordination rows, as the database holds them.
    struct Database {
        var version: Int64 = 0
        var owner: String?
        var expiresAt = 0.0
        var applied: [Int64: Int] = [:]
    }

    /// A seeded generator, so a failing run can be replayed from its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: 0..<300)
    func randomFleetsApplyEachVersionOnce(seed: UInt64) {
        var random = SplitMix(state: seed)
        let target: Int64 = 4
        let lease = 3.0
        var database = Database()
        var clock = 100.0
        let start = ContinuousClock.now
        let names = (0..<Int.random(in: 2...5, using: &random)).map { "m\($0)" }
        var machines = names.map { name in
            LockProtocol(configuration: .init(instance: name, target: target, lockWait: .seconds(3600)))
        }
        var actions = machines.indices.map { machines[$0].start(now: start) }
        var dead = Set<Int>()
        var outcomes: [Int: LockProtocol.Outcome] = [:]

        for _ in 0..<5_000 {
            let live = machines.indices.filter { !dead.contains($0) && outcomes[$0] == nil }
            guard let index = live.randomElement(using: &random) else { break }
            clock += Double.random(in: 0...0.5, using: &random)
            let now = start + .milliseconds(Int64((clock - 100) * 1000))
            let name = names[index]
            switch actions[index] {
            case .observe:
                let lock = database.owner.map {
                    LockRecord(owner: $0, host: "h", pid: 1, takenAt: clock, expiresAt: database.expiresAt, backendPID: nil, sessionVisible: false)
                }
                let snapshot = LockSnapshot(version: database.version, lock: lock, holderSessionAlive: nil, lastFailure: nil, now: clock)
                actions[index] = machines[index].observed(snapshot, now: now)
            case .acquire(let replacing):
                let free = database.owner == nil
                let stale = database.owner != nil && database.owner == replacing && database.expiresAt < clock
                let won = (replacing == nil && free) || stale
                if won {
                    database.owner = name
                    database.expiresAt = clock + lease
                }
                actions[index] = machines[index].acquired(won, now: now)
            case .migrate:
                // Time has passed since the decision: the executor's fence (the lock row still
                // names us) decides, as `HolderRun` does with `adoptLock` and each fenced step.
                var result: LockProtocol.MigrationResult
                if database.owner != name {
                    result = .lockLost(by: database.owner)
                } else if Int.random(in: 0..<10, using: &random) == 0 {
                    // Paused past its lease: the renewer stalls with it.
                    database.expiresAt = clock - 0.1
                    result = .interrupted("paused")
                } else if Int.random(in: 0..<30, using: &random) == 0 {
                    dead.insert(index)
                    continue
                } else {
                    database.expiresAt = clock + lease
                    while database.version < target && database.owner == name {
                        database.version += 1
                        database.applied[database.version, default: 0] += 1
                    }
                    database.owner = nil
                    result = .reachedTarget(version: database.version)
                }
                actions[index] = machines[index].migrationEnded(result, now: now)
            case .wait:
                actions[index] = machines[index].waited(now: now, announcedVersion: nil)
            case .finish(let outcome):
                outcomes[index] = outcome
            }
            if case .migrate = actions[index] {
                #expect(database.owner == name, "seed \(seed): \(name) decided to migrate without the lock (owner \(database.owner ?? "none"))")
            }
        }

        #expect(database.version == target, "seed \(seed): stopped at \(database.version)")
        #expect((1...target).allSatisfy { database.applied[$0] == 1 }, "seed \(seed): applied \(database.applied)")
        for index in machines.indices where !dead.contains(index) {
            #expect(outcomes[index] == .ready(version: target), "seed \(seed): \(names[index]) ended \(String(describing: outcomes[index]))")
        }
    }
}
