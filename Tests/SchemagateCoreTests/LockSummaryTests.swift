import SchemagateCore
import Testing

@Suite("lock summary, as plan shows it")
struct LockSummaryTests {
    func snapshot(taken: Double, expires: Double, alive: Bool?, now: Double = 1000) -> LockSnapshot {
        let lock = LockRecord(owner: "o", host: "host-b", pid: 812, takenAt: taken, expiresAt: expires, backendPID: 7,
                              sessionVisible: alive != nil)
        return LockSnapshot(version: 1, lock: lock, holderSessionAlive: alive, lastFailure: nil, now: now)
    }

    @Test func noLockIsNoSummary() {
        #expect(LockSummary(LockSnapshot(version: 1, lock: nil, holderSessionAlive: nil, lastFailure: nil, now: 0)) == nil)
    }

    @Test func aLiveHolder() throws {
        let summary = try #require(LockSummary(snapshot(taken: 988, expires: 1008, alive: true)))
        #expect(summary.text == "held by host-b pid 812 for 12s, session connected, lease 8s more")
        #expect(!summary.stale)
    }

    @Test func goneHoldersSayWhatHappensNext() throws {
        let expired = try #require(LockSummary(snapshot(taken: 900, expires: 990, alive: nil)))
        #expect(expired.text.hasPrefix("held by host-b pid 812 for 100s, session not visible, lease ran out 10s ago; the holder is gone"))
        let ended = try #require(LockSummary(snapshot(taken: 990, expires: 1010, alive: false)))
        #expect(ended.stale && ended.session == .gone)
    }

    /// A hostile record cannot stop `plan` with a trap.
    @Test func absurdTimesAreClamped() throws {
        let summary = try #require(LockSummary(snapshot(taken: -1e300, expires: -1e300, alive: nil)))
        #expect(summary.leaseRemainingSeconds == -Int64.max)
        #expect(summary.text.contains("lease ran out \(Int64.max)s ago"))
        let future = try #require(LockSummary(snapshot(taken: 1e300, expires: .nan, alive: nil)))
        #expect(future.heldSeconds == 0 && future.leaseRemainingSeconds == 0)
    }
}
