import Logging
import PQ
import SchemagateCore

/// The work done while holding the lock: re-read the state (someone may have finished while we
/// waited), re-plan, undo an interrupted no-transaction migration, apply each pending migration
/// fenced, release. A lease renewer runs beside it.
struct HolderRun {
    let session: Session
    let folder: MigrationFolder
    let identity: InstanceIdentity
    let target: Int64

    /// Transient failures of one migration (lock timeout, deadlock, serialization) retried in place.
    static let maxAttempts = 8

    func run() async throws(MigrateError) -> LockProtocol.MigrationResult {
        let watch = GovernorWatch(settings: session.configuration.store.governor) { [session] in session.onEvent(.progress($0)) }
        let renewer = LeaseRenewer(configuration: session.configuration, owner: identity.id, logger: session.logger, watch: watch)
        let outcome: Result<LockProtocol.MigrationResult, MigrateError> = await withTaskGroup(of: Void.self) { group in
            group.addTask { await renewer.run() }
            defer { group.cancelAll() }
            do throws(MigrateError) {
                return .success(try await migrate(watch: watch))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    private func migrate(watch: GovernorWatch) async throws(MigrateError) -> LockProtocol.MigrationResult {
        let store: SchemaStore
        switch try await session.holderStore(owner: identity.id) {
        case .ready(let adopted): store = adopted
        case .ended(let result): return result
        }
        var inFlight: Migration?
        do {
            let plan = try Migrator.plan(folder: folder, state: try await store.schemaState(), target: target)
            var current = plan.current
            if let dirty = plan.recovery {
                session.onEvent(.recovering(dirty))
                switch try await store.recover(dirty, expectedVersion: current, identity: identity) {
                case .applied: break
                case .lockLost(let owner): return .lockLost(by: owner)
                case .versionMoved: return .lockLost(by: nil)
                case .failed(let error, _, _):
                    await release(store)
                    throw MigrateError.recoveryFailed(
                        "undoing interrupted version \(dirty.version) (\(MigrationTitle.shown(dirty.name))) with its down SQL failed: \(error.message); check the database, then run `schemagate repair`"
                    )
                case .cancelledByGovernor, .blockedTraffic:
                    preconditionFailure("an undo runs without a governor watch")
                }
            }
            for (index, migration) in plan.pending.enumerated() {
                // Checked again under the lock: an older release may have registered since the plan.
                if migration.contract,
                   try await store.contractHolders(below: migration.version, excluding: identity.id) > 0 {
                    break
                }
                session.onEvent(.applying(migration, index: index + 1, count: plan.pending.count))
                var attempt = 1
                var resumeAt: Int?
                let started = ContinuousClock.now
                inFlight = migration
                watch.beginMigration(allowBlocking: migration.allowBlocking)
                while true {
                    let outcome = migration.transactional
                        ? try await store.applyTransactional(migration, expectedVersion: current, identity: identity, watch: watch,
                                                             commitWithSQL: index < plan.pending.count - 1)
                        : try await store.applyWithoutTransaction(migration, expectedVersion: current, identity: identity,
                                                                  watch: watch, resumeAt: resumeAt, ownBackend: session.sessionVisible)
                    switch outcome {
                    case .applied(let duration):
                        session.onEvent(.applied(migration, durationMilliseconds: duration))
                        current = migration.version
                        inFlight = nil
                    case .lockLost(let owner):
                        return .lockLost(by: owner)
                    case .versionMoved:
                        return .lockLost(by: nil)
                    case .cancelledByGovernor(let cause, let delay, let resume):
                        // Traffic waited behind us: our statement was cancelled and rolled back.
                        // Retries are counted by the governor, not by `maxAttempts`.
                        session.onEvent(.governorCancelled(migration, cause: cause, retryAfter: delay))
                        resumeAt = resume
                        try? await Task.sleep(for: delay)
                        if Task.isCancelled { throw MigrateError.stopped }
                        continue
                    case .blockedTraffic(let cause, let line, let leftDirty):
                        session.onEvent(.governorGaveUp(migration, cause: cause, retries: watch.retriesUsed))
                        let error = PQError(kind: .server, sqlState: .queryCanceled, message:
                            "cancelled by the lock-impact governor, \(watch.retriesUsed) retr\(watch.retriesUsed == 1 ? "y" : "ies") used: \(cause.description)")
                        try? await store.recordFailure(migration, error: "\(line): \(error.message)", sqlState: error.sqlState?.rawValue,
                                                       identity: identity, durationMilliseconds: store.milliseconds(since: started))
                        await release(store)
                        throw MigrateError.migrationFailed(MigrationFailure(
                            migration: migration, error: error, line: line, column: nil, schemaVersion: current, leftDirty: leftDirty
                        ))
                    case .failed(let error, let line, let leftDirty):
                        if error.sqlState == .readOnlySQLTransaction {
                            // Not the migration's fault: the server stopped accepting writes
                            // (a switchover). Nothing to record there; find the primary.
                            return .interrupted(try session.transient(error))
                        }
                        if error.isTransient && attempt < Self.maxAttempts {
                            session.onEvent(.retrying(migration, reason: error.description))
                            try? await Task.sleep(for: LockProtocol.backoffDelay(attempt: attempt, ceiling: .seconds(5)).jittered())
                            attempt += 1
                            continue
                        }
                        let located = Self.locate(error, in: migration, statementLine: line)
                        try? await store.recordFailure(migration, error: "\(located.line): \(error.message)", sqlState: error.sqlState?.rawValue,
                                                       identity: identity, durationMilliseconds: store.milliseconds(since: started))
                        await release(store)
                        throw MigrateError.migrationFailed(MigrationFailure(
                            migration: migration, error: error, line: located.line, column: located.column,
                            schemaVersion: current, leftDirty: leftDirty
                        ))
                    }
                    break
                }
            }
            await release(store)
            return .reachedTarget(version: current)
        } catch let error as MigrateError {
            if case .plan = error { await release(store) }
            if case .stopped = error {
                logStoppedMidway(inFlight)
                await Self.cleanUpAfterCancellation(store, owner: identity.id)
            }
            throw error
        } catch {
            if Task.isCancelled {
                logStoppedMidway(inFlight)
                await Self.cleanUpAfterCancellation(store, owner: identity.id)
                throw MigrateError.stopped
            }
            let message = try session.transient(error)
            session.logger.warning("interrupted while holding the migration lock; reconnecting", metadata: [
                "event": "\(SchemagateEvent.holderInterrupted.rawValue)", "error": "\(message)",
            ])
            return .interrupted(message)
        }
    }

    /// After a cancellation (SIGTERM) the in-flight statement was cancelled on the server; roll
    /// back and release from a task of its own, which the cancellation does not reach.
    static func cleanUpAfterCancellation(_ store: SchemaStore, owner: String) async {
        await Task {
            _ = try? await store.connection.query("ROLLBACK")
            _ = try? await store.releaseLock(owner: owner)
        }.value
    }

    /// A stop inside a no-transaction migration cannot roll it back: say so, and what happens next.
    private func logStoppedMidway(_ migration: Migration?) {
        guard let migration, !migration.transactional else { return }
        let next = migration.downSQL == nil
            ? "it has no down file: check the database, then run `schemagate repair`"
            : "the next holder undoes it with its down file, then applies it again"
        session.logger.warning("stopped during no-transaction migration \(migration.label): its statements may be half done, so it stays marked interrupted; \(next)", metadata: [
            "event": "\(SchemagateEvent.holderInterrupted.rawValue)", "version": "\(migration.version)", "migration": "\(migration.label)",
        ])
    }

    private func release(_ store: SchemaStore) async {
        await Self.release(store, owner: identity.id, session: session)
    }

    /// Deletes our lock record, saying so when it was no longer ours.
    static func release(_ store: SchemaStore, owner: String, session: Session) async {
        do {
            switch try await store.releaseLock(owner: owner) {
            case .released: session.onEvent(.released)
            case .notOwner(let holder): session.onEvent(.releaseFoundOtherOwner(holder))
            }
        } catch {
            session.logger.warning("could not release the lock; it expires with its lease", metadata: ["error": "\(error)"])
        }
    }

    /// The file line (and column) of a server error: from the error position when the server gave
    /// one (relative to the text sent), else the failing statement's first line.
    static func locate(_ error: PQError, in migration: Migration, statementLine: Int) -> (line: Int, column: Int?) {
        guard let position = error.position else { return (statementLine, nil) }
        let text: Substring
        if migration.transactional {
            text = Substring(migration.upSQL)
        } else {
            let statement = SQLStatementSplitter.split(migration.upSQL).first { $0.line == statementLine }
            text = Substring(statement?.text ?? "")
        }
        var line = 1
        var column = 1
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            if offset == position - 1 { break }
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return migration.transactional ? (line, column) : (statementLine + line - 1, column)
    }
}
