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
        }, job: { store in
            let steps = try RollbackPlan.make(folder: folder, state: try await store.schemaState(), to: target).steps
            for (index, step) in steps.enumerated() {
                onEvent(.rollingBack(step, index: index + 1, count: steps.count))
                switch try await store.rollBack(step, identity: identity) {
                case .applied(let duration):
                    onEvent(.rolledBack(step, durationMilliseconds: duration))
                case .lockLost(let owner):
                    return .lockLost(by: owner)
                case .versionMoved:
                    return .lockLost(by: nil)
                case .failed(let error, let line, _):
                    let marked = step.transactional ? "" : ", marked as an interrupted rollback: fix the down file and roll back again, or check the database and run `schemagate repair`"
                    throw MigrateError.rollbackFailed(
                        "down SQL of version \(step.version) (\(MigrationTitle.shown(step.name))) failed at line \(line): \(error.message)\(error.sqlState.map { " (SQLSTATE \($0))" } ?? ""); schema stays at \(step.version)\(marked)")
                case .cancelledByGovernor, .blockedTraffic:
                    preconditionFailure("a rollback runs without a governor watch")
                }
            }
            onEvent(.ready(version: target, ahead: false))
            return .done(target)
        })
    }

    /// `repair`: waits its turn for the lock, then accepts changed checksums and clears an
    /// interrupted migration's mark and the last failure, in one fenced transaction.
    public func repair(folder: MigrationFolder, markApplied: Bool) async throws(MigrateError) -> RepairReport {
        try await run(check: { store in try await store.bootstrap() }, job: { store in
            .done(try await store.repair(folder: folder, markApplied: markApplied, identity: identity))
        })
    }
}
