import FoundationEssentials
import PQ
import SchemagateCore

/// What one attempt to apply a migration ended with.
public enum ApplyOutcome: Sendable {
    case applied(durationMilliseconds: Double)
    /// Fencing found another owner: nothing was applied.
    case lockLost(currentOwner: String?)
    /// Fencing found the version moved (someone else applied it): nothing was applied.
    case versionMoved(to: Int64)
    /// The migration's SQL failed. For a no-transaction one, `leftDirty` tells whether the
    /// database is still marked dirty (no down file, or the down file failed too).
    case failed(PQError, statementLine: Int, leftDirty: Bool)
    /// The governor cancelled our statement because traffic waited behind it: rolled back (a
    /// no-transaction file keeps its mark and the statements before `resumeAt`); run it again,
    /// from statement `resumeAt`, after `retryAfter`.
    case cancelledByGovernor(GovernorCause, retryAfter: Duration, resumeAt: Int)
    /// The governor cancelled it once more than `--max-block-retries` allows: a failure, rolled
    /// back or undone like any other (`leftDirty` as for `failed`).
    case blockedTraffic(GovernorCause, statementLine: Int, leftDirty: Bool)
}

extension SchemaStore {
    /// Applies one migration in its own transaction, fenced: inside that transaction the version
    /// row is locked and checked, and the lock record must still name `identity`, so a holder that
    /// was paused past its lease can never apply what another instance applies too.
    /// With a `watch`, the governor watches the migration's SQL from the lease connection and may
    /// cancel it (our own statement) when traffic waits behind it.
    /// `commitWithSQL`: send the version move and COMMIT with the SQL, in one round trip. Not for
    /// the last migration of a run: the server runs a text it has received to its end, so a
    /// holder killed meanwhile would still reach the target and leave its lock record behind,
    /// where a separate COMMIT never arrives and a waiter takes over at once.
    public func applyTransactional(_ migration: Migration, expectedVersion: Int64, identity: InstanceIdentity,
                                   watch: GovernorWatch? = nil, commitWithSQL: Bool = true) async throws -> ApplyOutcome {
        let started = ContinuousClock.now
        do {
            let recording = { self.recordingApplied(migration, identity: identity, durationMilliseconds: $0) }
            // Prepared before the fence, outside the migration's transaction.
            let prepared = try await preparedRecordingName(recording(nil).sql)
            let fence = try await openFenced(expectedVersion: expectedVersion, dirty: nil, identity: identity)
            if let refusal = fence.refusal {
                return refusal
            }
            let outcome = try await runFenced(migration.upSQL, label: migration.label, backendPID: fence.backendPID, watch: watch,
                                              started: started, preparedRecording: prepared, commitWithSQL: commitWithSQL, recording: recording)
            if prepared != nil, case .failed(let error, _, _) = outcome, error.inEpilogue, error.sqlState == .invalidSQLStatementName {
                // The migration deallocated our statement (DEALLOCATE ALL): it was all rolled
                // back, so run it once more without one.
                preparedRecording.withLock { $0 = PreparedRecording() }
                return try await applyTransactional(migration, expectedVersion: expectedVersion, identity: identity, watch: watch,
                                                    commitWithSQL: commitWithSQL)
            }
            return outcome
        } catch {
            try? await connection.query("ROLLBACK")
            throw error
        }
    }

    /// Runs transactional SQL in the fenced transaction just opened (on server backend
    /// `backendPID`, watched by the governor when there is a watch), then moves the version with
    /// `recording` and commits. When the text ends at a statement boundary, all three go in one
    /// round trip, and the history row's duration is measured by the server (`recording(nil)`);
    /// otherwise the version move and COMMIT follow in a second one.
    /// With `preparedRecording`, the version move is that prepared statement's `EXECUTE`.
    /// A text above `oneRoundTripLimit` (a data load) goes on its own: joining the epilogue to it
    /// would copy it whole, and one round trip more is nothing beside it.
    private func runFenced(_ sql: String, label: String, backendPID: Int32?, watch: GovernorWatch?, started: ContinuousClock.Instant,
                           preparedRecording: String? = nil, commitWithSQL: Bool = true,
                           recording: (Double?) -> (sql: String, parameters: [String?])) async throws -> ApplyOutcome {
        guard commitWithSQL, sql.utf8.count <= Self.oneRoundTripLimit, SQLStatementSplitter.endsAtStatementBoundary(sql) else {
            let (decision, failure) = try await watched(watch, label, line: nil, backendPID: backendPID) { try await self.connection.executeScript(sql) }
            if let decision {
                // Cancelled, or finished just as the cancel was sent: either way it rolls back.
                try await connection.query("ROLLBACK")
                return Self.outcome(of: decision, resumeAt: 0, statementLine: 1, leftDirty: false)
            }
            if let failure {
                try await connection.query("ROLLBACK")
                return .failed(failure, statementLine: failingStatementLine(sql, failure), leftDirty: false)
            }
            let duration = milliseconds(since: started)
            if let failure = try await commitMigration(recording(duration), lastLine: lastStatementLine(sql)) {
                return failure
            }
            return .applied(durationMilliseconds: duration)
        }
        var move = recording(nil)
        if let preparedRecording {
            move.sql = "EXECUTE \(preparedRecording)(" + move.parameters.indices.map { "$\($0 + 1)" }.joined(separator: ", ") + ")"
        }
        let epilogue = [move, (sql: "COMMIT", parameters: [String?]())]
        let (decision, failure) = try await watched(watch, label, line: nil, backendPID: backendPID) {
            try await self.connection.executeScript(sql, epilogue: epilogue)
        }
        guard var failure else {
            // Committed, even when the governor decided to cancel just as it finished.
            return .applied(durationMilliseconds: milliseconds(since: started))
        }
        try await connection.query("ROLLBACK")
        if let decision {
            return Self.outcome(of: decision, resumeAt: 0, statementLine: 1, leftDirty: false)
        }
        guard failure.inEpilogue else {
            return .failed(failure, statementLine: failingStatementLine(sql, failure), leftDirty: false)
        }
        // The server refused only the version move or COMMIT (a deferred constraint, a SET ROLE
        // left in place): the migration's failure like any other.
        failure.message = "at COMMIT, after the last statement: \(failure.message)"
        return .failed(failure, statementLine: lastStatementLine(sql), leftDirty: false)
    }

    static let oneRoundTripLimit = 1 << 20

    /// Commits a migration transaction. The server may refuse only now: a deferred constraint
    /// fails at COMMIT, and a `SET ROLE` left in place makes recording the version fail. That is
    /// the migration's failure like any other (rolled back, recorded, lock released), not ours.
    private func commitMigration(_ statement: (sql: String, parameters: [String?]), lastLine: @autoclosure () -> Int) async throws -> ApplyOutcome? {
        do {
            try await commit(statement)
            return nil
        } catch var error as PQError where error.kind == .server {
            try? await connection.query("ROLLBACK")
            error.message = "at COMMIT, after the last statement: \(error.message)"
            return .failed(error, statementLine: lastLine(), leftDirty: false)
        }
    }

    /// Applies a `no-transaction` migration: marks the version dirty (fenced), runs the statements
    /// one at a time as psql would, then moves the version (fenced). On failure it runs the down
    /// file, when there is one, and clears the mark only if that succeeded.
    /// A `resumeAt` continues a file the governor cancelled: the mark is already set and the
    /// statements before it ran (0 when it cancelled the first one; nil for a fresh start). A cancelled `CREATE INDEX CONCURRENTLY` leaves an INVALID index,
    /// which is dropped before the outcome is returned, so the next attempt builds it afresh.
    /// `ownBackend`: the session is proven to be this connection's own server backend (not a
    /// pooler's), so each statement's backend is `PQbackendPID` and need not be asked.
    public func applyWithoutTransaction(_ migration: Migration, expectedVersion: Int64, identity: InstanceIdentity,
                                        watch: GovernorWatch? = nil, resumeAt: Int? = nil, ownBackend: Bool = false) async throws -> ApplyOutcome {
        let started = ContinuousClock.now
        let dirty = DirtyMigration(version: migration.version, name: migration.name, checksum: migration.checksum, downSQL: migration.downSQL)
        if resumeAt == nil, let refusal = try await fencedUpdate(expectedVersion: expectedVersion, expectedDirty: nil, newVersion: expectedVersion, newDirty: dirty, identity: identity) {
            return refusal
        }
        for (index, statement) in SQLStatementSplitter.split(migration.upSQL).enumerated() where index >= resumeAt ?? 0 {
            // Outside a transaction nothing rolls a statement back: check before each one that
            // the lock is still ours, so a holder that stalled past its lease sends nothing more.
            if let refusal = try await fenceStatement(expectedVersion: expectedVersion, dirty: dirty, identity: identity) {
                return refusal
            }
            let (decision, failure) = try await watched(watch, migration.label, line: statement.line,
                                                        backendPID: ownBackend ? connection.backendPID : nil) {
                try await self.connection.execute(statement.text)
            }
            if let decision, failure != nil {
                if let build = ConcurrentIndexStatement.parse(statement.text) {
                    _ = try await dropInvalidIndex(build)
                }
                if case .cancelAndRetry = decision {
                    return Self.outcome(of: decision, resumeAt: index, statementLine: statement.line, leftDirty: false)
                }
                let undone = try await undo(migration, fencedBy: (expectedVersion, dirty, identity))
                return Self.outcome(of: decision, resumeAt: index, statementLine: statement.line, leftDirty: !undone)
            }
            if let failure {
                let undone = try await undo(migration, fencedBy: (expectedVersion, dirty, identity))
                return .failed(failure, statementLine: statement.line, leftDirty: !undone)
            }
        }
        let duration = milliseconds(since: started)
        do {
            if let refusal = try await beginFenced(expectedVersion: expectedVersion, dirty: dirty, identity: identity) {
                return refusal
            }
            if let failure = try await commitMigration(recordingApplied(migration, identity: identity, durationMilliseconds: duration),
                                                       lastLine: lastStatementLine(migration.upSQL)) {
                return failure
            }
            return .applied(durationMilliseconds: duration)
        } catch {
            try? await connection.query("ROLLBACK")
            throw error
        }
    }

    /// After a failed no-transaction statement: runs the down file and clears the mark if it
    /// succeeded. False when the mark stays.
    private func undo(_ migration: Migration, fencedBy fence: (version: Int64, dirty: DirtyMigration, identity: InstanceIdentity)) async throws -> Bool {
        let undone = try await runDown(migration.downSQL, fencedBy: fence)
        if undone {
            _ = try await fencedUpdate(expectedVersion: fence.version, expectedDirty: fence.dirty, newVersion: fence.version, newDirty: nil, identity: fence.identity)
        }
        return undone
    }

    /// Runs one statement of the migration, watched by the governor when there is a watch.
    /// Returns what the governor decided meanwhile and the server's error, if any; a lost
    /// connection or a stop is thrown.
    /// `backendPID` is the server backend that runs it, when already known; else it is asked.
    private func watched(_ watch: GovernorWatch?, _ label: String, line: Int?, backendPID: Int32?,
                         _ body: @Sendable () async throws -> Void) async throws -> (Governor.Action?, PQError?) {
        if let watch {
            let backend: Int32
            if let backendPID { backend = backendPID } else { backend = try await serverBackendPID() }
            try await watch.beginStatement(on: connection, backendPID: backend, migration: label, line: line,
                                           waitingUpTo: configuration.lease)
        }
        var failure: PQError?
        do {
            try await body()
        } catch let error as PQError where error.kind == .server || error.kind == .cancelled {
            failure = error
        } catch {
            _ = watch?.endStatement()
            throw error
        }
        let decision = watch?.endStatement()
        if decision == nil, var failure, failure.kind == .cancelled {
            // A stop cancels the statement; otherwise it is the server's own cancel
            // (statement_timeout) on a connection the governor once cancelled: a failure.
            if Task.isCancelled { throw failure }
            failure.kind = .server
            return (nil, failure)
        }
        return (decision, failure)
    }

    private static func outcome(of decision: Governor.Action, resumeAt: Int, statementLine: Int, leftDirty: Bool) -> ApplyOutcome {
        switch decision {
        case .cancelAndRetry(let cause, let after):
            return .cancelledByGovernor(cause, retryAfter: after, resumeAt: resumeAt)
        case .cancelAndFail(let cause):
            return .blockedTraffic(cause, statementLine: statementLine, leftDirty: leftDirty)
        case .keepWatching:
            preconditionFailure("the watch keeps only decisions that cancel")
        }
    }

    /// Undoes an interrupted no-transaction migration with its stored down SQL and clears the mark.
    public func recover(_ dirty: DirtyMigration, expectedVersion: Int64, identity: InstanceIdentity) async throws -> ApplyOutcome {
        let started = ContinuousClock.now
        guard dirty.downSQL != nil else {
            return .failed(PQError(kind: .server, message: "no down SQL stored for version \(dirty.version)"), statementLine: 1, leftDirty: true)
        }
        do {
            guard try await runDown(dirty.downSQL, throwing: true, fencedBy: (expectedVersion, dirty, identity)) else {
                return .lockLost(currentOwner: nil)
            }
        } catch let error as PQError where error.kind == .server {
            return .failed(error, statementLine: 1, leftDirty: true)
        }
        if let refusal = try await fencedUpdate(expectedVersion: expectedVersion, expectedDirty: dirty, newVersion: expectedVersion, newDirty: nil, identity: identity) {
            return refusal
        }
        try await connection.query(
            """
            INSERT INTO \(history) (version, name, checksum, direction, host, pid, instance, started_at, duration_ms, success, error, settings_table)
            VALUES ($1::bigint, $2, $3, 'down', $4, $5::int, $6, now(), $7::float8, true, 'undo of an interrupted no-transaction migration', $8)
            """,
            [String(dirty.version), dirty.name, dirty.checksum, identity.host, String(identity.pid), identity.id,
             String(milliseconds(since: started)), settings]
        )
        return .applied(durationMilliseconds: milliseconds(since: started))
    }

    /// Records a failed migration in `last_failure` and history (outside any migration transaction).
    public func recordFailure(_ migration: Migration, error: String, sqlState: String?, identity: InstanceIdentity, durationMilliseconds: Double) async throws {
        try await connection.query(
            """
            WITH failure AS (
              INSERT INTO \(settings) (key, value)
              VALUES ($1, jsonb_build_object('version', $2::bigint, 'name', $3::text, 'checksum', $4::text,
                      'error', $5::text, 'sqlstate', $6::text, 'at', extract(epoch FROM now())::float8, 'instance', $7::text))
              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
              RETURNING 1
            )
            INSERT INTO \(history) (version, name, checksum, direction, host, pid, instance, started_at, duration_ms, success, error, down_sql, settings_table)
            SELECT $2::bigint, $3, $4, 'up', $8, $9::int, $7, now() - $10::float8 * interval '1 millisecond', $10::float8, false, $5, $11, $12
            FROM failure
            """,
            [SettingsKey.lastFailure, String(migration.version), migration.name, migration.checksum, error, sqlState,
             identity.id, identity.host, String(identity.pid), String(durationMilliseconds), migration.downSQL, settings]
        )
    }

    // MARK: - Fencing

    /// Opens a migration transaction, fenced, in one round trip: bounds lock waits and idle time,
    /// locks the version row and checks version, dirty mark and lock owner. Returns why not to go
    /// on (the transaction is then rolled back), or nil with the transaction open.
    func beginFenced(expectedVersion: Int64, dirty: DirtyMigration?, identity: InstanceIdentity) async throws -> ApplyOutcome? {
        try await openFenced(expectedVersion: expectedVersion, dirty: dirty, identity: identity).refusal
    }

    /// `beginFenced`, and the server backend that runs the transaction (`pg_backend_pid()` inside
    /// it: through a pooler too, that is the backend its statements run on), for the governor.
    func openFenced(expectedVersion: Int64, dirty: DirtyMigration?, identity: InstanceIdentity) async throws -> (refusal: ApplyOutcome?, backendPID: Int32?) {
        // lock_timeout: a migration that cannot get its table locks gives up (and is retried)
        // instead of queueing while blocking all traffic behind it. idle_in_transaction: a holder
        // paused mid-transaction is cut off after one lease, so its row locks cannot stall the
        // instance that takes over. client_connection_check_interval (PostgreSQL 14+): the server
        // aborts a dead client's long statement instead of finishing it.
        let results = try await connection.pipeline([
            ("BEGIN", []),
            ("""
             SELECT set_config('lock_timeout', $1, true),
                    set_config('idle_in_transaction_session_timeout', $2, true),
                    CASE WHEN $3::boolean THEN set_config('client_connection_check_interval', '250', true) END,
                    pg_backend_pid() AS backend
             """,
             [String(configuration.ddlLockTimeout.milliseconds), String(configuration.lease.milliseconds),
              connection.serverVersion >= 140000 ? "true" : "false"]),
            // Beside the text, the two numbers the fence decides on, read by the server: a
            // record as expected then needs no JSON decoding (`movedVersion`).
            ("""
             SELECT value::text AS value,
                    CASE WHEN jsonb_typeof(value->'version') = 'number' THEN value->>'version' END AS version,
                    CASE WHEN coalesce(jsonb_typeof(value->'dirty'), 'null') = 'null' THEN ''
                         WHEN jsonb_typeof(value->'dirty'->'version') = 'number' THEN value->'dirty'->>'version' END AS dirty_version
             FROM \(settings) WHERE key = $1 FOR UPDATE
             """, [SettingsKey.schemaVersion]),
            // A statement of its own, so a new snapshot: it sees a takeover committed while the
            // one above waited for the version row.
            ("SELECT value->>'owner' AS owner FROM \(settings) WHERE key = $1", [SettingsKey.migrationLock]),
        ])
        let owner = results[3].first?["owner"]
        let refusal: ApplyOutcome
        if let moved = try movedVersion(results[2].first, expectedVersion: expectedVersion, dirty: dirty) {
            refusal = .versionMoved(to: moved)
        } else if owner != identity.id {
            refusal = .lockLost(currentOwner: owner)
        } else {
            return (nil, results[1].first?.int("backend").map { Int32($0) })
        }
        try await connection.query("ROLLBACK")
        return (refusal, nil)
    }

    /// The version the record moved to, or nil when it holds `expectedVersion` and `dirty`'s mark
    /// as the fence expects. The record is decoded (and a malformed one reported) only when the
    /// server's reading of the two numbers does not already say so.
    private func movedVersion(_ row: QueryResult.Row?, expectedVersion: Int64, dirty: DirtyMigration?) throws -> Int64? {
        guard let row else { return expectedVersion == 0 && dirty == nil ? nil : 0 }
        if row["version"] == String(expectedVersion), row["dirty_version"] == (dirty.map { String($0.version) } ?? "") {
            return nil
        }
        let record = try row["value"].map(decodeVersion) ?? VersionRecord(version: 0, dirty: nil)
        return record.version != expectedVersion || record.dirty?.version != dirty?.version ? record.version : nil
    }

    /// The fence before a statement that runs outside a transaction: one read of the version
    /// record and the lock owner. Nil when both are as this holder left them.
    func fenceStatement(expectedVersion: Int64, dirty: DirtyMigration?, identity: InstanceIdentity) async throws -> ApplyOutcome? {
        let row = try await connection.query(
            """
            SELECT (SELECT value::text FROM \(settings) WHERE key = $1) AS record,
                   (SELECT value->>'owner' FROM \(settings) WHERE key = $2) AS owner
            """,
            [SettingsKey.schemaVersion, SettingsKey.migrationLock]
        ).first
        let record = try row?["record"].map(decodeVersion) ?? VersionRecord(version: 0, dirty: nil)
        if record.version != expectedVersion || record.dirty?.version != dirty?.version {
            return .versionMoved(to: record.version)
        }
        let owner = row?["owner"]
        return owner == identity.id ? nil : .lockLost(currentOwner: owner)
    }

    /// Runs `statement` (the version move) and COMMIT in one round trip.
    private func commit(_ statement: (sql: String, parameters: [String?])) async throws {
        try await connection.pipeline([statement, ("COMMIT", [])])
    }

    /// A fenced transaction that only rewrites the version record.
    private func fencedUpdate(expectedVersion: Int64, expectedDirty: DirtyMigration?, newVersion: Int64, newDirty: DirtyMigration?, identity: InstanceIdentity) async throws -> ApplyOutcome? {
        do {
            if let refusal = try await beginFenced(expectedVersion: expectedVersion, dirty: expectedDirty, identity: identity) {
                return refusal
            }
            try await commit(writingVersion(newVersion, dirty: newDirty, identity: identity))
            return nil
        } catch {
            try? await connection.query("ROLLBACK")
            throw error
        }
    }

    private func writingVersion(_ version: Int64, dirty: DirtyMigration?, identity: InstanceIdentity) throws -> (sql: String, parameters: [String?]) {
        let dirtyJSON = try dirty.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        return (
            """
            UPDATE \(settings)
            SET value = jsonb_build_object('version', $2::bigint, 'dirty', $3::jsonb,
                                           'updated_at', extract(epoch FROM now())::float8, 'instance', $4::text)
            WHERE key = $1
            """,
            [SettingsKey.schemaVersion, String(version), dirtyJSON, identity.id]
        )
    }

    private func recordingApplied(_ migration: Migration, identity: InstanceIdentity, durationMilliseconds: Double?) -> (sql: String, parameters: [String?]) {
        recordingMove(to: migration.version, version: migration.version, name: migration.name, checksum: migration.checksum,
                      direction: "up", downSQL: migration.downSQL, identity: identity, durationMilliseconds: durationMilliseconds,
                      contract: migration.contract)
    }

    /// Moves the version record to `newVersion`, adds the history row for `version`, clears a
    /// failure at or below it and wakes waiters: one statement, inside the fenced transaction.
    /// Without `durationMilliseconds` the server measures it: from the transaction's start to now.
    func recordingMove(to newVersion: Int64, version: Int64, name: String, checksum: String, direction: String,
                       downSQL: String?, identity: InstanceIdentity, durationMilliseconds: Double?,
                       contract: Bool = false) -> (sql: String, parameters: [String?]) {
        (
            """
            WITH version AS (
              UPDATE \(settings)
              SET value = jsonb_build_object('version', $2::bigint, 'dirty', NULL,
                                             'updated_at', extract(epoch FROM now())::float8, 'instance', $5::text)
              WHERE key = $1
              RETURNING 1
            ), cleared AS (
              DELETE FROM \(settings) WHERE key = $11 AND (value->>'version')::bigint <= $2::bigint
            ), recorded AS (
              INSERT INTO \(history) (version, name, checksum, direction, host, pid, instance, started_at, duration_ms, success, down_sql, settings_table, contract)
              VALUES ($12::bigint, $3, $4, $13, $6, $7::int, $5, now(),
                      coalesce($8::float8, extract(epoch FROM clock_timestamp() - now())::float8 * 1000), true, $9, $14, $15::boolean)
              RETURNING 1
            )
            SELECT pg_notify($10, $14 || ':' || $2::text) FROM version, recorded
            """,
            [SettingsKey.schemaVersion, String(newVersion), name, checksum, identity.id,
             identity.host, String(identity.pid), durationMilliseconds.map { String($0) }, downSQL, versionChannel,
             SettingsKey.lastFailure, String(version), direction, settings, contract ? "true" : "false"]
        )
    }

    /// Runs down SQL one statement at a time, each fenced. False when there is none, it failed,
    /// or the lock stopped being ours (the mark stays, for the next holder).
    private func runDown(_ downSQL: String?, throwing: Bool = false,
                         fencedBy fence: (version: Int64, dirty: DirtyMigration, identity: InstanceIdentity)) async throws -> Bool {
        guard let downSQL else { return false }
        for statement in SQLStatementSplitter.split(downSQL) {
            if try await fenceStatement(expectedVersion: fence.version, dirty: fence.dirty, identity: fence.identity) != nil {
                return false
            }
            do {
                try await connection.execute(statement.text)
            } catch let error as PQError where error.kind == .server && !throwing {
                return false
            }
        }
        return true
    }

    /// The line of the statement the server failed on: the statements before it completed. Line
    /// 1 when that count is unknown or does not match the splitter's view of the file.
    private func failingStatementLine(_ sql: String, _ error: PQError) -> Int {
        let statements = SQLStatementSplitter.split(sql)
        guard let completed = error.completedStatements, completed < statements.count else { return 1 }
        return statements[completed].line
    }

    /// Where a failure at COMMIT is reported: the file's last statement.
    private func lastStatementLine(_ sql: String) -> Int {
        SQLStatementSplitter.heads(sql).last?.line ?? 1
    }

    func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}

extension SchemaStore {
    /// Undoes one applied version with its down SQL, fenced like a migration: in one transaction
    /// with the version move and a `down` history row, or statement by statement for a
    /// `no-transaction` down file.
    /// With a `watch` the governor watches the down SQL as it does an up file's: a down file
    /// stalls traffic as much as an up one. A cancelled transactional step rolls back; a
    /// no-transaction one keeps its mark and continues from statement `resumeAt` (nil: a fresh start).
    public func rollBack(_ step: RollbackPlan.Step, identity: InstanceIdentity,
                         watch: GovernorWatch? = nil, resumeAt: Int? = nil) async throws -> ApplyOutcome {
        let started = ContinuousClock.now
        let label = "\(step.version)_\(step.name) (down)"
        var mark: DirtyMigration?
        if !step.transactional {
            // Marked first, like a no-transaction up file: a rollback killed half-way through the
            // down file is then visible to every command, never a silently half-undone version.
            let dirty = DirtyMigration(version: step.version, name: step.name, checksum: step.checksum, downSQL: nil, rollingBack: true)
            if !step.resumes, resumeAt == nil, let refusal = try await fencedUpdate(expectedVersion: step.version, expectedDirty: nil,
                                                                                    newVersion: step.version, newDirty: dirty, identity: identity) {
                return refusal
            }
            mark = dirty
            for (index, statement) in SQLStatementSplitter.split(step.downSQL).enumerated() where index >= resumeAt ?? 0 {
                if let refusal = try await fenceStatement(expectedVersion: step.version, dirty: dirty, identity: identity) {
                    return refusal
                }
                let (decision, failure) = try await watched(watch, label, line: statement.line, backendPID: nil) { try await self.connection.execute(statement.text) }
                if let decision, failure != nil {
                    if let build = ConcurrentIndexStatement.parse(statement.text) {
                        _ = try await dropInvalidIndex(build)
                    }
                    return Self.outcome(of: decision, resumeAt: index, statementLine: statement.line, leftDirty: true)
                }
                if let failure {
                    return .failed(failure, statementLine: statement.line, leftDirty: true)
                }
            }
        }
        func recording(_ duration: Double?) -> (sql: String, parameters: [String?]) {
            recordingMove(to: step.resultingVersion, version: step.version, name: step.name, checksum: step.checksum,
                          direction: "down", downSQL: step.downSQL, identity: identity, durationMilliseconds: duration)
        }
        do {
            let fence = try await openFenced(expectedVersion: step.version, dirty: mark, identity: identity)
            if let refusal = fence.refusal {
                return refusal
            }
            if step.transactional {
                return try await runFenced(step.downSQL, label: label, backendPID: fence.backendPID, watch: watch, started: started,
                                           commitWithSQL: false, recording: recording)
            }
            let duration = milliseconds(since: started)
            if let failure = try await commitMigration(recording(duration), lastLine: lastStatementLine(step.downSQL)) {
                return failure
            }
            return .applied(durationMilliseconds: duration)
        } catch {
            try? await connection.query("ROLLBACK")
            throw error
        }
    }
}
