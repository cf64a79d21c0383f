import Foundation
@testable import SchemagateCore
import Testing

@Suite("lock-impact governor")
struct GovernorTests {
    let reader = LockHolder(pid: 4242, applicationName: "api", state: "idle in transaction",
                            transactionAge: .seconds(12), query: "SELECT *\n  FROM orders WHERE id = 1")

    @Test func waitsUnderMaxBlockKeepTheStatementRunning() {
        var governor = Governor(settings: GovernorSettings(maxBlock: .milliseconds(200), maxBlockRetries: 3))
        let sample = GovernorSample(blocked: [BlockedSession(pid: 7, waited: .milliseconds(150))], waitingFor: reader)
        #expect(governor.observe(sample, jitter: 0) == .keepWatching)
        #expect(governor.observe(GovernorSample(blocked: []), jitter: 0) == .keepWatching)
        #expect(governor.retriesUsed == 0)
        #expect(governor.waitedSessions == 1)
        #expect(governor.longestWait == .milliseconds(150))
    }

    @Test func aWaitBeyondMaxBlockBehindAHolderCancelsAndNamesTheHolder() {
        var governor = Governor(settings: GovernorSettings(maxBlock: .milliseconds(200), maxBlockRetries: 1))
        let sample = GovernorSample(
            blocked: [BlockedSession(pid: 7, waited: .milliseconds(250)), BlockedSession(pid: 8, waited: .milliseconds(40))],
            waitingFor: reader)
        let cause = GovernorCause(kind: .waitingBehind(reader), waitedSessions: 2, longestWait: .milliseconds(250))
        #expect(governor.observe(sample, jitter: 0) == .cancelAndRetry(cause, after: .milliseconds(50)))
        #expect(governor.retriesUsed == 1)
        governor.attemptStarted()
        #expect(governor.waitedSessions == 0)
        let again = GovernorSample(blocked: [BlockedSession(pid: 9, waited: .milliseconds(300))], waitingFor: reader)
        guard case .cancelAndFail(let final) = governor.observe(again, jitter: 0.5) else {
            Issue.record("retries ran out but the governor did not fail"); return
        }
        #expect(final.waitedSessions == 1)
        #expect(final.description
            == "waiting for a lock held by pid 4242 (idle in transaction 12s, application api) running 'SELECT * FROM orders WHERE id = 1'; 1 session waited behind it, the longest 300ms")
    }

    @Test func aWaitThatWouldPassMaxBlockBeforeTheNextLookCancelsNow() {
        var governor = Governor(settings: GovernorSettings(maxBlock: .milliseconds(200), maxBlockRetries: 3))
        let reaction = GovernorReaction(sampleInterval: .milliseconds(50), cancelLatency: .milliseconds(10))
        let early = GovernorSample(blocked: [BlockedSession(pid: 7, waited: .milliseconds(140))])
        #expect(governor.observe(early, jitter: 0, horizon: reaction.horizon) == .keepWatching)
        let late = GovernorSample(blocked: [BlockedSession(pid: 7, waited: .milliseconds(141))])
        guard case .cancelAndRetry(let cause, _) = governor.observe(late, jitter: 0, horizon: reaction.horizon) else {
            Issue.record("a wait of 141 ms with 60 ms to the next chance to act did not cancel at 200 ms"); return
        }
        #expect(cause.longestWait == .milliseconds(141))
        // A horizon beyond --max-block: any session seen waiting is already too late to wait for.
        governor.attemptStarted()
        let fresh = GovernorSample(blocked: [BlockedSession(pid: 8, waited: .zero)])
        #expect(governor.observe(fresh, jitter: 0, horizon: .milliseconds(250)) != .keepWatching)
        // Allow-blocking files are never cancelled, whatever the prediction.
        var allowed = Governor(settings: GovernorSettings(maxBlock: .milliseconds(200)), allowBlocking: true)
        #expect(allowed.observe(late, jitter: 0, horizon: .seconds(1)) == .keepWatching)
    }

    @Test func theGovernorLooksSoonerOnlyWhileItsStatementMakesSomeoneWait() {
        var governor = Governor(settings: GovernorSettings(maxBlock: .milliseconds(200), maxBlockRetries: 3))
        let normal = Duration.milliseconds(50), fast = Duration.milliseconds(20)
        #expect(governor.nextLook(normal: normal, whileBlocking: fast) == normal)
        #expect(governor.observe(GovernorSample(blocked: [BlockedSession(pid: 7, waited: .milliseconds(10))]), jitter: 0) == .keepWatching)
        #expect(governor.nextLook(normal: normal, whileBlocking: fast) == fast)
        #expect(governor.observe(GovernorSample(blocked: []), jitter: 0) == .keepWatching)
        #expect(governor.nextLook(normal: normal, whileBlocking: fast) == normal)
        _ = governor.observe(GovernorSample(blocked: [BlockedSession(pid: 7, waited: .milliseconds(10))]), jitter: 0)
        governor.attemptStarted()
        #expect(governor.nextLook(normal: normal, whileBlocking: fast) == normal)
        var allowed = Governor(settings: GovernorSettings(), allowBlocking: true)
        _ = allowed.observe(GovernorSample(blocked: [BlockedSession(pid: 7, waited: .seconds(1))]), jitter: 0)
        #expect(allowed.nextLook(normal: normal, whileBlocking: fast) == normal)
    }

    @Test func theReactionFollowsSlowMeasurementsAtOnceAndFastOnesByHalves() {
        var reaction = GovernorReaction(sampleInterval: .milliseconds(50))
        #expect(reaction.horizon == .milliseconds(50) + GovernorReaction.assumedCancelLatency)
        reaction.sampled(gap: .milliseconds(90))
        #expect(reaction.sampleGap == .milliseconds(90))
        reaction.sampled(gap: .milliseconds(30))
        #expect(reaction.sampleGap == .milliseconds(60))
        reaction.sampled(gap: .milliseconds(-5))
        #expect(reaction.sampleGap == .milliseconds(60))
        reaction.cancelled(took: .milliseconds(4))
        #expect(reaction.cancelLatency == .milliseconds(7))
        reaction.cancelled(took: .milliseconds(25))
        #expect(reaction.horizon == .milliseconds(85))
    }

    @Test func aWaitWhileWeHoldTheLockSaysTheMigrationBlocksTraffic() {
        var governor = Governor(settings: GovernorSettings(maxBlock: .milliseconds(100), maxBlockRetries: 0))
        let sample = GovernorSample(blocked: (1...12).map { BlockedSession(pid: $0, waited: .milliseconds(Int64(100 + $0))) })
        guard case .cancelAndFail(let cause) = governor.observe(sample, jitter: 0) else {
            Issue.record("no failure with zero retries"); return
        }
        #expect(cause.kind == .migrationBlocksTraffic)
        #expect(cause.description.hasPrefix("the migration itself blocks traffic while it holds its lock; 12 sessions waited behind it, the longest 112ms"))
        #expect(cause.description.contains("allow-blocking"))
    }

    @Test func allowBlockingWatchesButNeverCancels() {
        var governor = Governor(settings: GovernorSettings(maxBlock: .milliseconds(100), maxBlockRetries: 0), allowBlocking: true)
        let sample = GovernorSample(blocked: [BlockedSession(pid: 3, waited: .seconds(9))])
        #expect(governor.observe(sample, jitter: 0) == .keepWatching)
        #expect(governor.longestWait == .seconds(9))
    }

    @Test func aLostWatchCancelsWithoutUsingARetry() {
        var governor = Governor(settings: GovernorSettings(maxBlock: .milliseconds(100), maxBlockRetries: 0))
        guard case .cancelAndRetry(let cause, let after) = governor.watchLost(jitter: 1) else {
            Issue.record("a lost watch did not cancel"); return
        }
        #expect(cause.kind == .watchLost)
        #expect(after == .milliseconds(100))
        #expect(governor.retriesUsed == 0)
    }

    @Test func backoffDoublesUpToItsCeilingWithEqualJitter() {
        let schedule = BackoffSchedule(base: .milliseconds(100), ceiling: .milliseconds(800))
        #expect(schedule.delay(beforeRetry: 1, jitter: 0) == .milliseconds(50))
        #expect(schedule.delay(beforeRetry: 1, jitter: 1) == .milliseconds(100))
        #expect(schedule.delay(beforeRetry: 2, jitter: 0.5) == .milliseconds(150))
        #expect(schedule.delay(beforeRetry: 4, jitter: 1) == .milliseconds(800))
        #expect(schedule.delay(beforeRetry: 1000, jitter: 1) == .milliseconds(800))
        #expect(schedule.delay(beforeRetry: 5, jitter: .nan) == .milliseconds(400))
        #expect(schedule.delay(beforeRetry: 0, jitter: 7) == .milliseconds(100))
    }

    @Test func settingsAreRefusedWithOneLineEach() {
        func problem(_ maxBlock: Duration, _ retries: Int, _ ddl: Duration = .seconds(5)) -> String? {
            guard case .failure(let problem) = GovernorSettings.validated(maxBlock: maxBlock, maxBlockRetries: retries, ddlLockTimeout: ddl) else { return nil }
            return problem.message
        }
        #expect(problem(.zero, 3) == "--max-block '0ms': must be more than 0, e.g. 200ms")
        #expect(problem(.seconds(5), 3) == "--max-block '5s': must be shorter than --ddl-lock-timeout '5s'; lower it or raise --ddl-lock-timeout")
        #expect(problem(.seconds(6), 3)?.hasPrefix("--max-block '6s'") == true)
        #expect(problem(.milliseconds(200), -1) == "--max-block-retries '-1': must be from 0 to 1000")
        #expect(problem(.milliseconds(200), 1001) == "--max-block-retries '1001': must be from 0 to 1000")
        #expect(problem(.milliseconds(200), 0) == nil)
        #expect(problem(.milliseconds(4999), 1000) == nil)
    }

    @Test func holderSummaryAndQueryCut() {
        let long = LockHolder(pid: 1, applicationName: "", state: "active", transactionAge: nil,
                              query: String(repeating: "x", count: 200))
        #expect(long.summary == "pid 1 (active)")
        #expect(long.shortQuery.count == LockHolder.queryLimit)
        #expect(long.shortQuery.hasSuffix("…"))
        #expect(reader.summary == "pid 4242 (idle in transaction 12s, application api)")
    }

    @Test func allowBlockingDirective() throws {
        let both = try MigrationDirectives.parse(firstLineOf: "-- schemagate: no-transaction, allow-blocking\nX").get()
        #expect(both.allowBlocking && !both.transactional)
        #expect(try MigrationDirectives.parse(firstLineOf: "-- schemagate: allow-blocking").get().allowBlocking)
        #expect(try MigrationDirectives.parse(firstLineOf: "SELECT 1;").get().allowBlocking == false)
        #expect(MigrationDirectives.misplacedLine(in: "ALTER TABLE t ADD c int;\n-- schemagate: allow-blocking") == 2)
    }

    @Test func anAllowBlockingFileRunsOnWhenTheWatchIsLost() {
        var governor = Governor(settings: GovernorSettings(), allowBlocking: true)
        #expect(governor.watchLost(jitter: 0) == .keepWatching)
    }

    @Test func concurrentIndexStatementsNameTheirIndexAndTable() {
        #expect(ConcurrentIndexStatement.parse("CREATE INDEX CONCURRENTLY orders_at_idx ON orders (at)")
            == ConcurrentIndexStatement(indexName: "orders_at_idx", table: "orders"))
        #expect(ConcurrentIndexStatement.parse("-- why\ncreate unique index concurrently if not exists \"Odd \"\"x\"\"\" on only app.\"Orders\" using btree (id);")
            == ConcurrentIndexStatement(indexName: "Odd \"x\"", table: "app.\"Orders\""))
        #expect(ConcurrentIndexStatement.parse("CREATE INDEX CONCURRENTLY Orders_AT ON public.orders(at)")
            == ConcurrentIndexStatement(indexName: "orders_at", table: "public.orders"))
        #expect(ConcurrentIndexStatement.parse("CREATE INDEX CONCURRENTLY ON orders (at)") == nil)
        #expect(ConcurrentIndexStatement.parse("CREATE INDEX orders_at ON orders (at)") == nil)
        #expect(ConcurrentIndexStatement.parse("DROP INDEX CONCURRENTLY orders_at") == nil)
    }

    @Test func progressSaysWhatTheStatementDoes() throws {
        let waiting = StatementProgress(migration: "0002_note", line: nil, elapsedSeconds: 3, waitingOn: "orders",
                                        waitingFor: reader.summary, blockedSessions: 2, longestBlockSeconds: 0.15)
        #expect(waiting.description
            == "0002_note: waiting for lock on orders held by pid 4242 (idle in transaction 12s, application api); 2 sessions waiting behind it")
        let build = StatementProgress(migration: "0003_index", line: 2, elapsedSeconds: 12.7, command: "CREATE INDEX CONCURRENTLY",
                                      phase: "building index: scanning table", percent: 42.9)
        #expect(build.description == "0003_index line 2: CREATE INDEX CONCURRENTLY, building index: scanning table 42% (12s)")
        #expect(StatementProgress(migration: "0004_backfill", line: 5, elapsedSeconds: 61.2).description == "0004_backfill line 5: running for 61s")
        #expect(StatementProgress(migration: "0003_index", line: 2, elapsedSeconds: 1, waitingFor: reader.summary).description
            == "0003_index line 2: waiting for pid 4242 (idle in transaction 12s, application api) to finish")
        var later = build
        later.percent = 60
        #expect(!later.differsInKind(from: build))
        later.phase = "building index: loading tuples in tree"
        #expect(later.differsInKind(from: build))
        let coded = try JSONDecoder().decode(StatementProgress.self, from: JSONEncoder().encode(build))
        #expect(coded == build)
    }

    /// A statement is first looked at once it has run for a sample interval, or half of
    /// `--max-block` when that is shorter: no earlier look could cancel it. A server that does
    /// not record when a wait began is looked at from the start, since waits count from sightings.
    @Test func aStatementIsFirstLookedAtOnceALookCouldMatter() {
        let interval = Duration.milliseconds(50)
        #expect(Governor(settings: GovernorSettings(maxBlock: .milliseconds(200))).firstLook(sampleInterval: interval, serverRecordsWaitStart: true) == interval)
        #expect(Governor(settings: GovernorSettings(maxBlock: .milliseconds(60))).firstLook(sampleInterval: interval, serverRecordsWaitStart: true) == .milliseconds(30))
        #expect(Governor(settings: GovernorSettings(maxBlock: .milliseconds(200))).firstLook(sampleInterval: interval, serverRecordsWaitStart: false) == .zero)
    }
}
