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
    /// `rollback` undoing one applied version with its down SQL.
    case rollingBack(RollbackPlan.Step, index: Int, count: Int)
    case rolledBack(RollbackPlan.Step, durationMilliseconds: Double)
    case released
    case releaseFoundOtherOwner(LockRecord?)
    /// Fencing found the lock taken from us (nil: the version moved); we wait for the target again.
    case lostLock(to: String?)
    case ready(version: Int64, ahead: Bool)
}
