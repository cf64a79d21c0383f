import SchemagateCore
import Testing

@Suite("lock protocol state machine")
struct LockProtocolTests {
    let t0 = ContinuousClock.now
    let me = "me"

    func machine(target: Int64 = 3, lockWait: Duration = .seconds(60)) -> LockProtocol {
        LockProtocol(configuration: .init(instance: me, target: target, checksums: [1: "c1", 2: "c2", 3: "c3"],
                                          lockWait: lockWait))
    }

    func holder(_ owner: String = "other", expiresAt: Double = 200, takenAt: Double = 90) -> LockRecord {
        LockRecord(owner: owner, host: "host-b", pid: 812, takenAt: takenAt, expiresAt: expiresAt, backendPID: 42, sessionVisible: true)
    }

    func snapshot(version: Int64 = 0, lock: LockRecord? = nil, alive: Bool? = true, failure: FailureRecord? = nil, now: Double = 100) -> LockSnapshot {
        LockSnapshot(version: version, lock: lock, holderSessionAlive: lock == nil ? nil : alive, lastFailure: failure, now: now)
    }

    @Test func fastPathAtOrPastTheTarget() {
        var protocolState = machine()
        #expect(protocolState.start(now: t0) == .observe)
        #expect(protocolState.observed(snapshot(version: 3), now: t0) == .finish(.ready(version: 3)))
        var ahead = machine()
        _ = ahead.start(now: t0)
        #expect(ahead.observed(snapshot(version: 9, lock: holder()), now: t0) == .finish(.ready(version: 9)))
    }

    @Test func freeLockIsTakenThenMigrated() {
        var state = machine()
        _ = state.start(now: t0)
        #expect(state.observed(snapshot(), now: t0) == .acquire(replacing: nil))
        #expect(state.acquired(true, now: t0) == .migrate)
        #expect(state.migrationEnded(.reachedTarget(version: 3), now: t0) == .finish(.ready(version: 3)))
        #expect(state.isFinished)
    }

    @Test func losingTheRaceLooksAgainAtOnce() {
        var state = machine()
        _ = state.start(now: t0)
        _ = state.observed(snapshot(), now: t0)
        #expect(state.acquired(false, now: t0) == .observe)
        #expect(state.observed(snapshot(lock: holder(takenAt: 96)), now: t0)
                == .wait(.milliseconds(500), .lockHeld(holder(takenAt: 96), heldFor: 4)))
        #expect(state.waited(now: t0 + .milliseconds(500)) == .observe)
        #expect(state.observed(snapshot(version: 3), now: t0 + .seconds(1)) == .finish(.ready(version: 3)))
    }

    @Test func anAnnouncedTargetFinishesWithoutAnotherQuery() {
        var state = machine()
        _ = state.start(now: t0)
        _ = state.observed(snapshot(lock: holder()), now: t0)
        #expect(state.waited(now: t0, announcedVersion: 2) == .wait(.milliseconds(500), .lockHeld(holder(), heldFor: 10)))
        #expect(state.waited(now: t0 + .milliseconds(600)) == .observe)
        _ = state.observed(snapshot(version: 2, lock: holder()), now: t0)
        #expect(state.waited(now: t0, announcedVersion: 3) == .finish(.ready(version: 3)))
    }

    /// One NOTIFY per migration: a waiter that queried on each would make the whole fleet
    /// query once per migration. A version short of the target is progress that keeps the wait
    /// going until the observation it owes anyway, one poll interval after the last.
    @Test func anAnnouncedStepShortOfTheTargetKeepsWaitingUntilTheObservationIsDue() {
        var state = machine(target: 9, lockWait: .seconds(1))
        _ = state.start(now: t0)
        #expect(state.observed(snapshot(version: 1, lock: holder()), now: t0) == .wait(.milliseconds(500), .lockHeld(holder(), heldFor: 10)))
        #expect(state.waited(now: t0 + .milliseconds(100), announcedVersion: 2) == .wait(.milliseconds(400), .lockHeld(holder(), heldFor: 10)))
        #expect(state.waited(now: t0 + .milliseconds(450), announcedVersion: 3) == .wait(.milliseconds(50), .lockHeld(holder(), heldFor: 10)))
        // The observation is due: the timer, or a NOTIFY at or after it.
        #expect(state.waited(now: t0 + .milliseconds(500), announcedVersion: 4) == .observe)
        #expect(state.observed(snapshot(version: 4, lock: holder()), now: t0 + .milliseconds(500))
                == .wait(.milliseconds(500), .lockHeld(holder(), heldFor: 10)))
        #expect(state.waited(now: t0 + .milliseconds(1000)) == .observe)
        // The announced steps were progress: a second after the start, lockWait (1 s) has not
        // passed since the last of them (at 500 ms), and the next observation waits again.
        #expect(state.observed(snapshot(version: 4, lock: holder()), now: t0 + .milliseconds(1400))
                == .wait(.milliseconds(500), .lockHeld(holder(), heldFor: 10)))
        // A timer expiry with nothing announced: an observation, and lockWait counts from the
        // last progress.
        #expect(state.waited(now: t0 + .milliseconds(1600)) == .observe)
        #expect(state.observed(snapshot(version: 4, lock: holder()), now: t0 + .milliseconds(1600))
                == .finish(.lockWaitExceeded(holder())))
    }

    /// A release, a foreign table's NOTIFY or a repeated version is no progress: a release or
    /// foreign payload (nil) observes at once, a version at or below the last keeps waiting
    /// without counting.
    @Test func anAnnouncementThatIsNoProgressIsNotCounted() {
        var state = machine(target: 9, lockWait: .seconds(1))
        _ = state.start(now: t0)
        _ = state.observed(snapshot(version: 5, lock: holder()), now: t0)
        #expect(state.waited(now: t0 + .milliseconds(100), announcedVersion: 5) == .wait(.milliseconds(400), .lockHeld(holder(), heldFor: 10)))
        #expect(state.waited(now: t0 + .milliseconds(200), announcedVersion: nil) == .observe)
        _ = state.observed(snapshot(version: 5, lock: holder()), now: t0 + .milliseconds(900))
        #expect(state.waited(now: t0 + .milliseconds(1000), announcedVersion: 5) == .wait(.milliseconds(400), .lockHeld(holder(), heldFor: 10)))
        #expect(state.waited(now: t0 + .milliseconds(1400)) == .observe)
        #expect(state.observed(snapshot(version: 5, lock: holder()), now: t0 + .milliseconds(1400)) == .finish(.lockWaitExceeded(holder())))
    }

    @Test func deadHolderIsReplacedWithoutWaitingForTheLease() {
        var state = machine()
        _ = state.start(now: t0)
        #expect(state.observed(snapshot(lock: holder(), alive: false), now: t0) == .acquire(replacing: "other"))
    }

    @Test func expiredLeaseIsReplacedWhenSessionsCannotBeSeen() {
        var unseen = machine()
        _ = unseen.start(now: t0)
        #expect(unseen.observed(snapshot(lock: holder(expiresAt: 150), alive: nil, now: 100), now: t0)
                == .wait(.milliseconds(500), .lockHeld(holder(expiresAt: 150), heldFor: 10)))
        _ = unseen.waited(now: t0)
        #expect(unseen.observed(snapshot(lock: holder(expiresAt: 150), alive: nil, now: 151), now: t0) == .acquire(replacing: "other"))
    }

    @Test func aRecordThatIsAlreadyOursIsResumed() {
        var state = machine()
        _ = state.start(now: t0)
        #expect(state.observed(snapshot(lock: holder(me)), now: t0) == .migrate)
    }

    @Test func aLiveHolderWithoutProgressExhaustsLockWait() {
        var state = machine(lockWait: .seconds(10))
        _ = state.start(now: t0)
        let lock = holder()
        #expect(state.observed(snapshot(lock: lock), now: t0) == .wait(.milliseconds(500), .lockHeld(lock, heldFor: 10)))
        _ = state.waited(now: t0 + .seconds(5))
        // Progress (the version moved) restarts the clock.
        #expect(state.observed(snapshot(version: 1, lock: lock), now: t0 + .seconds(9)) == .wait(.milliseconds(500), .lockHeld(lock, heldFor: 10)))
        _ = state.waited(now: t0 + .seconds(15))
        #expect(state.observed(snapshot(version: 1, lock: lock), now: t0 + .seconds(15)) == .wait(.milliseconds(500), .lockHeld(lock, heldFor: 10)))
        _ = state.waited(now: t0 + .seconds(19))
        #expect(state.observed(snapshot(version: 1, lock: lock), now: t0 + .seconds(19)) == .finish(.lockWaitExceeded(lock)))
    }

    @Test func aFailureRecordedMeanwhileForTheSameFileFailsFast() {
        var state = machine()
        _ = state.start(now: t0)
        _ = state.observed(snapshot(lock: holder(), now: 100), now: t0)
        _ = state.waited(now: t0)
        let failure = FailureRecord(version: 1, name: "a", checksum: "c1", error: "boom", sqlState: "42601", at: 101, instance: "other")
        #expect(state.observed(snapshot(failure: failure, now: 102), now: t0) == .finish(.failedElsewhere(failure)))
    }

    @Test func anOldOrDifferentFailureIsRetried() {
        var state = machine()
        _ = state.start(now: t0)
        let old = FailureRecord(version: 1, name: "a", checksum: "c1", error: "boom", sqlState: nil, at: 10, instance: "x")
        #expect(state.observed(snapshot(failure: old, now: 100), now: t0) == .acquire(replacing: nil))
        var edited = machine()
        _ = edited.start(now: t0)
        let otherFile = FailureRecord(version: 1, name: "a", checksum: "different", error: "boom", sqlState: nil, at: 100, instance: "x")
        #expect(edited.observed(snapshot(failure: otherFile, now: 100), now: t0) == .acquire(replacing: nil))
    }

    @Test func databaseTroubleBacksOffThenGivesUp() {
        var state = machine(lockWait: .seconds(2))
        _ = state.start(now: t0)
        #expect(state.databaseFailed("refused", now: t0) == .wait(.milliseconds(100), .databaseTrouble("refused", attempt: 1)))
        _ = state.waited(now: t0)
        #expect(state.databaseFailed("refused", now: t0 + .milliseconds(500)) == .wait(.milliseconds(200), .databaseTrouble("refused", attempt: 2)))
        _ = state.waited(now: t0)
        #expect(state.databaseFailed("refused", now: t0 + .seconds(3)) == .finish(.unavailable("refused")))
    }

    @Test func backoffGrowsToItsCeiling() {
        #expect(LockProtocol.backoffDelay(attempt: 1, ceiling: .seconds(5)) == .milliseconds(100))
        #expect(LockProtocol.backoffDelay(attempt: 4, ceiling: .seconds(5)) == .milliseconds(800))
        #expect(LockProtocol.backoffDelay(attempt: 30, ceiling: .seconds(5)) == .seconds(5))
    }

    /// Losing the lock (after an interruption, or to fencing) is not an ending: the instance
    /// waits for the target like any other, and finishes ready once someone reaches it.
    @Test func aLostLockRejoinsTheWaiters() {
        var interrupted = machine()
        _ = interrupted.start(now: t0)
        _ = interrupted.observed(snapshot(), now: t0)
        _ = interrupted.acquired(true, now: t0)
        #expect(interrupted.migrationEnded(.interrupted("connection lost"), now: t0) == .wait(.milliseconds(100), .databaseTrouble("connection lost", attempt: 1)))
        _ = interrupted.waited(now: t0)
        #expect(interrupted.observed(snapshot(lock: holder("thief")), now: t0) == .wait(.milliseconds(500), .lockHeld(holder("thief"), heldFor: 10)))
        _ = interrupted.waited(now: t0)
        #expect(interrupted.observed(snapshot(version: 3), now: t0) == .finish(.ready(version: 3)))

        var fenced = machine()
        _ = fenced.start(now: t0)
        _ = fenced.observed(snapshot(), now: t0)
        _ = fenced.acquired(true, now: t0)
        #expect(fenced.migrationEnded(.lockLost(by: "thief"), now: t0) == .observe)
        #expect(fenced.observed(snapshot(version: 2, lock: holder("thief")), now: t0) == .wait(.milliseconds(500), .lockHeld(holder("thief"), heldFor: 10)))
        _ = fenced.waited(now: t0)
        // The thief died too: the lock is free again, and this instance takes it.
        #expect(fenced.observed(snapshot(version: 2), now: t0) == .acquire(replacing: nil))

        // Nobody makes progress after the loss: lockWait still bounds the wait.
        var stuck = machine(lockWait: .seconds(5))
        _ = stuck.start(now: t0)
        _ = stuck.observed(snapshot(), now: t0)
        _ = stuck.acquired(true, now: t0)
        _ = stuck.migrationEnded(.lockLost(by: "thief"), now: t0)
        _ = stuck.observed(snapshot(lock: holder("thief")), now: t0)
        _ = stuck.waited(now: t0 + .seconds(6))
        #expect(stuck.observed(snapshot(lock: holder("thief")), now: t0 + .seconds(6)) == .finish(.lockWaitExceeded(holder("thief"))))
    }

    /// `rollback` and `repair` go through the same machine: they take the lock whatever the
    /// version, wait for a live holder, replace a stale one, ignore a failure recorded elsewhere,
    /// and give up after `lockWait` without progress.
    @Test func anOperatorCommandWaitsItsTurnWhateverTheVersion() {
        let failure = FailureRecord(version: 9, name: "x", checksum: "c9", error: "boom", sqlState: nil, at: 100, instance: "other")
        var state = LockProtocol(configuration: .operatorCommand(instance: me, lockWait: .seconds(10)))
        _ = state.start(now: t0)
        #expect(state.observed(snapshot(version: 8, lock: holder(), failure: failure), now: t0)
                == .wait(.milliseconds(500), .lockHeld(holder(), heldFor: 10)))
        #expect(state.waited(now: t0 + .seconds(1), announcedVersion: 9) == .observe)
        #expect(state.observed(snapshot(version: 9, lock: holder("third")), now: t0 + .seconds(2))
                == .wait(.milliseconds(500), .lockHeld(holder("third"), heldFor: 10)))
        _ = state.waited(now: t0 + .seconds(3))
        #expect(state.observed(snapshot(version: 9, lock: holder("third"), alive: false), now: t0 + .seconds(3)) == .acquire(replacing: "third"))
        #expect(state.acquired(true, now: t0 + .seconds(3)) == .migrate)
        #expect(state.migrationEnded(.reachedTarget(version: 2), now: t0 + .seconds(4)) == .finish(.ready(version: 2)))

        var patient = LockProtocol(configuration: .operatorCommand(instance: me, lockWait: .seconds(10)))
        _ = patient.start(now: t0)
        _ = patient.observed(snapshot(version: 4, lock: holder()), now: t0)
        _ = patient.waited(now: t0 + .seconds(11))
        #expect(patient.observed(snapshot(version: 4, lock: holder()), now: t0 + .seconds(11)) == .finish(.lockWaitExceeded(holder())))
    }
}
