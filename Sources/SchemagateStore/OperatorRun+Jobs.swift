import SchemagateCore

extension OperatorRun {
    /// `rollback --to target`: plans without the lock (a refusal changes nothing), waits its turn
    /// for the lock, then undoes each applied version above `target`, newest first, each fenced (a
    /// no-transaction down file is marked first), with the folder's down file or the stored one.
    /// Returns the version reached.
    public func rollback(to target: Int64, folder: MigrationFolder?) async throws(MigrateError) -> Int64 {
        try await run(check: { store in
            try await store.bootstrap()
            _ = try RollbackPlan.make(folder: folder, state: try await store.schemaState(), to: target)
        }, governed: true, job: { store, watch in
            let steps = try RollbackPlan.make(folder: folder, state: try await store.schemaState(), to: target).steps
            for (index, step) in steps.enumerated() {
                onEvent(.rollingBack(step, index: index + 1, count: steps.count))
                watch?.beginMigration(allowBlocking: step.allowBlocking)
                var resumeAt: Int?
                steps: while true {
                    let marked = step.transactional ? "" : ", marked as an interrupted rollback: fix the down file and roll back again, or check the database and run `schemagate repair`"
                    switch try await store.rollBack(step, identity: identity, watch: watch, resumeAt: resumeAt) {
                    case .applied(let duration):
                        onEvent(.rolledBack(step, durationMilliseconds: duration))
                    case .lockLost(let owner):
                        return .lockLost(by: owner)
                    case .versionMoved:
                        return .lockLost(by: nil)
                    case .failed(let error, let line, _):
                        throw MigrateError.rollbackFailed(
                            "down SQL of version \(step.version) (\(MigrationTitle.shown(step.name))) failed at line \(line): \(error.message)\(error.sqlState.map { " (SQLSTATE \($0))" } ?? ""); schema stays at \(step.version)\(marked)")
                    case .cancelledByGovernor(let cause, let delay, let resume):
                        // Traffic waited behind the down file: cancelled, rolled back (or kept
                        // marked), run again after the backoff.
                        onEvent(.rollbackGovernorCancelled(step, cause: cause, retryAfter: delay))
                        resumeAt = resume
                        try? await Task.sleep(for: delay)
                        if Task.isCancelled { throw MigrateError.stopped }
                        continue steps
                    case .blockedTraffic(let cause, let line, _):
                        let retries = watch?.retriesUsed ?? 0
                        throw MigrateError.rollbackFailed(
                            "down SQL of version \(step.version) (\(MigrationTitle.shown(step.name))) was cancelled by the lock-impact governor at line \(line), \(retries) retr\(retries == 1 ? "y" : "ies") used: \(cause.description); schema stays at \(step.version)\(marked)")
                    }
                    break
                }
            }
            onEvent(.ready(version: target, ahead: false))
            return .done(target)
        })
    }

    /// `repair`: waits its turn for the lock, then accepts changed checksums and clears an
    /// interrupted migration's mark and the last failure, in one fenced transaction.
    public func repair(folder: MigrationFolder, markApplied: Bool) async throws(MigrateError) -> RepairReport {
        try await run(check: { store in try await store.bootstrap() }, job: { store, _ in
            .done(try await store.repair(folder: folder, markApplied: markApplied, identity: identity))
        })
    }
}
