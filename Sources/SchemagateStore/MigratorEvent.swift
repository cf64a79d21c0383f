import SchemagateCore

/// What a migrate run reports as it goes: the daemon turns these into `STATUS=` lines and status
/// socket state, the CLI into log lines.
public enum MigratorEvent: Sendable, Equatable {
    case connecting(attempt: Int, lastError: String?)
    case planned(current: Int64, target: Int64, pending: [Int64])
    case waiting(holder: LockRecord, heldFor: Double)
    case acquired(replaced: String?)
    case recovering(DirtyMigration)
    case applying(Migration, index: Int, count: Int)
    case applied(Migration, durationMilliseconds: Double)
    case retrying(Migration, reason: String)
    /// The governor cancelled our statement because traffic waited behind it; retried after the delay.
    case governorCancelled(Migration, cause: GovernorCause, retryAfter: Duration)
    /// What the running statement is doing (phase and percentage, or its lock wait), a few times a second.
    case progress(StatementProgress)
    /// The governor's retries ran out: the migration fails (and is recorded) with this cause.
    case governorGaveUp(Migration, cause: GovernorCause, retries: Int)
    /// `rollback` undoing one applied version with its down SQL.
    case rollingBack(RollbackPlan.Step, index: Int, count: Int)
    case rolledBack(RollbackPlan.Step, durationMilliseconds: Double)
    /// The governor cancelled a down file's statement because traffic waited behind it; retried after the delay.
    case rollbackGovernorCancelled(RollbackPlan.Step, cause: GovernorCause, retryAfter: Duration)
    case released
    case releaseFoundOtherOwner(LockRecord?)
    /// Fencing found the lock taken from us (nil: the version moved); we wait for the target again.
    case lostLock(to: String?)
    case ready(version: Int64, ahead: Bool)
    /// The pending contract migrations live instances of older releases hold back (empty: none, any more).
    case contractWaiting([ContractGate.Wait])
}
