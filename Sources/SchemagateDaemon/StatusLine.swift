import SchemagateCore
import SchemagateStore

/// The `STATUS=` text for each migrator event: the words an operator needs in `systemctl status`.
/// Nil for events that do not change what the operator should see.
public enum StatusLine {
    public static func text(for event: MigratorEvent) -> String? {
        switch event {
        case .connecting(let attempt, let error):
            return "waiting for the database (attempt \(attempt)): \(error ?? "connecting")"
        case .planned(let current, let target, let pending):
            return pending.isEmpty ? nil : "schema at \(current), target \(target): \(pending.count) pending"
        case .waiting(let holder, let heldFor):
            return "waiting for lock held by \(holder.holderDescription) for \(heldFor.wholeSeconds)s"
        case .acquired(let replaced):
            return replaced == nil ? "lock acquired" : "took over the lock from a dead holder"
        case .recovering(let dirty):
            return "undoing interrupted migration \(dirty.version) (\(MigrationTitle.shown(dirty.name)))"
        case .applying(let migration, let index, let count):
            return "applying \(migration.label) (\(index) of \(count))"
        case .retrying(let migration, let reason):
            return "retrying \(migration.label): \(reason)"
        case .governorCancelled(let migration, let cause, let delay):
            return "cancelled \(migration.label) to let traffic through, retrying in \(DurationParser.format(delay)): \(cause.description)"
        case .governorGaveUp(let migration, let cause, _):
            return "\(migration.label) blocks traffic: \(cause.description)"
        case .rollingBack(let step, let index, let count):
            return "rolling back \(step.version) \(MigrationTitle.shown(step.name)) (\(index) of \(count))"
        case .rollbackGovernorCancelled(let step, let cause, let delay):
            return "cancelled the rollback of \(step.version) to let traffic through, retrying in \(DurationParser.format(delay)): \(cause.description)"
        case .rolledBack(let step, _):
            return "rolled back \(step.version); schema at \(step.resultingVersion)"
        case .lostLock(let owner):
            return "lost the lock to \(owner ?? "another instance"); waiting for the target"
        case .contractWaiting(let waits):
            return waits.first?.description
        case .progress:
            // Worded with the step it belongs to, by `DaemonStatus.record`.
            return nil
        case .applied, .released, .releaseFoundOtherOwner, .ready:
            // `.ready`: the sidecar sends its STATUS together with READY=1, in one datagram.
            return nil
        }
    }

    /// Events that show progress: each one extends systemd's start timeout.
    public static func isProgress(_ event: MigratorEvent) -> Bool {
        switch event {
        case .connecting, .waiting, .acquired, .recovering, .applying, .applied, .retrying, .governorCancelled, .progress, .rollingBack, .rolledBack, .rollbackGovernorCancelled: return true
        case .governorGaveUp, .planned, .released, .releaseFoundOtherOwner, .lostLock, .ready, .contractWaiting: return false
        }
    }
}
