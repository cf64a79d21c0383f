import Logging
import SchemagateCore
import SchemagateStore

/// Turns migrator events into log entries with the journal's fields (event, version, migration,
/// duration_ms, lock_owner). Progress is logged once per change, never as a flood.
struct EventLogger: Sendable {
    let logger: Logger

    func log(_ event: MigratorEvent) {
        switch event {
        case .connecting(let attempt, let error):
            logger.warning("database unreachable, retrying (attempt \(attempt)): \(error ?? "")", metadata: ["event": "\(SchemagateEvent.databaseUnreachable.rawValue)"])
        case .planned(let current, let target, let pending):
            logger.info("schema at \(current), target \(target), \(pending.count) pending", metadata: [
                "event": "\(SchemagateEvent.planned.rawValue)", "version": "\(current)", "target": "\(target)",
            ])
        case .waiting(let holder, let heldFor):
            logger.info("waiting for lock held by \(holder.holderDescription) for \(heldFor.wholeSeconds)s", metadata: [
                "event": "\(SchemagateEvent.lockWaiting.rawValue)", "lock_owner": "\(holder.owner)",
            ])
        case .acquired(let replaced):
            if let replaced {
                logger.warning("took over the lock from a dead holder", metadata: ["event": "\(SchemagateEvent.lockTakenOver.rawValue)", "lock_owner": "\(replaced)"])
            } else {
                logger.info("lock acquired", metadata: ["event": "\(SchemagateEvent.lockAcquired.rawValue)"])
            }
        case .recovering(let dirty):
            logger.warning("undoing interrupted no-transaction migration \(dirty.version) (\(MigrationTitle.shown(dirty.name))) with its down SQL", metadata: [
                "event": "\(SchemagateEvent.dirtyRecovery.rawValue)", "version": "\(dirty.version)", "migration": "\(dirty.name)",
            ])
        case .applying(let migration, let index, let count):
            logger.info("applying \(migration.label) (\(index) of \(count))", metadata: [
                "event": "\(SchemagateEvent.migrationStarted.rawValue)", "version": "\(migration.version)", "migration": "\(migration.label)",
            ])
        case .applied(let migration, let duration):
            logger.info("applied \(migration.label) in \(Int(duration.rounded()))ms", metadata: [
                "event": "\(SchemagateEvent.migrationApplied.rawValue)", "version": "\(migration.version)", "migration": "\(migration.label)",
                "duration_ms": "\(Int(duration.rounded()))",
            ])
            if migration.contract {
                logger.notice("contract migration \(migration.label) applied: no live instance needs the schema below it", metadata: [
                    "event": "\(SchemagateEvent.contractApplied.rawValue)", "version": "\(migration.version)", "migration": "\(migration.label)",
                ])
            }
        case .contractWaiting(let waits):
            for wait in waits {
                logger.notice("\(wait.description)", metadata: [
                    "event": "\(SchemagateEvent.contractWaiting.rawValue)", "version": "\(wait.migration.version)", "migration": "\(wait.migration.label)",
                ])
            }
        case .retrying(let migration, let reason):
            logger.warning("retrying \(migration.label): \(reason)", metadata: [
                "event": "\(SchemagateEvent.migrationRetry.rawValue)", "version": "\(migration.version)", "migration": "\(migration.label)",
            ])
        case .governorCancelled(let migration, let cause, let delay):
            logger.warning("cancelled our own statement in \(migration.label), retrying in \(DurationParser.format(delay)): \(cause.description)", metadata: [
                "event": "\(SchemagateEvent.governorCancel.rawValue)", "version": "\(migration.version)", "migration": "\(migration.label)",
            ])
        case .governorGaveUp(let migration, let cause, let retries):
            logger.error("\(migration.label) blocks traffic; gave up after \(retries) governor retries: \(cause.description)", metadata: [
                "event": "\(SchemagateEvent.migrationBlocked.rawValue)", "version": "\(migration.version)", "migration": "\(migration.label)",
            ])
        case .progress:
            // Shown by STATUS= and the status socket; a log line a few times a second would flood.
            break
        case .rollingBack(let step, let index, let count):
            logger.info("rolling back \(step.version) \(MigrationTitle.shown(step.name)) (\(index) of \(count))", metadata: [
                "event": "\(SchemagateEvent.migrationStarted.rawValue)", "version": "\(step.version)", "migration": "\(step.name)",
            ])
        case .rollbackGovernorCancelled(let step, let cause, let delay):
            logger.warning("cancelled our own statement in the down SQL of \(step.version) (\(MigrationTitle.shown(step.name))), retrying in \(DurationParser.format(delay)): \(cause.description)", metadata: [
                "event": "\(SchemagateEvent.governorCancel.rawValue)", "version": "\(step.version)", "migration": "\(step.name)",
            ])
        case .rolledBack(let step, let duration):
            logger.info("rolled back \(step.version) \(MigrationTitle.shown(step.name)) in \(Int(duration.rounded()))ms; schema at \(step.resultingVersion)", metadata: [
                "event": "\(SchemagateEvent.migrationRolledBack.rawValue)", "version": "\(step.version)", "duration_ms": "\(Int(duration.rounded()))",
            ])
        case .released:
            logger.debug("lock released", metadata: ["event": "\(SchemagateEvent.lockReleased.rawValue)"])
        case .releaseFoundOtherOwner(let holder):
            logger.warning("lock was no longer ours at release (now \(holder.map(\.holderDescription) ?? "free"))", metadata: [
                "event": "\(SchemagateEvent.lockLost.rawValue)",
            ])
        case .lostLock(let owner):
            logger.warning("lost the migration lock to \(owner ?? "another instance") (taken over after a stall, or broken with unlock --force); applied nothing further, waiting for the target like any instance", metadata: [
                "event": "\(SchemagateEvent.lockLost.rawValue)",
            ])
        case .ready(let version, let ahead):
            if ahead {
                logger.notice("ready: schema at \(version), ahead of this release's target; nothing applied (to go back: schemagate rollback)", metadata: [
                    "event": "\(SchemagateEvent.ready.rawValue)", "version": "\(version)",
                ])
            } else {
                logger.info("ready: schema at \(version)", metadata: ["event": "\(SchemagateEvent.ready.rawValue)", "version": "\(version)"])
            }
        }
    }
}
