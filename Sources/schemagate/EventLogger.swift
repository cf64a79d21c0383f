import Logging
import SchemagateCore
import SchemagateStore

/// Turns migrator events into log entries with SPEC 8's fields (event, version, migration,
/// duration_ms, lock_owner). Progress is logged once per change, never as a flood.
struct EventLogger: Sendable {
    let logger: Logger

    func log(_ event: MigratorEvent) {
        switch event {
        case .connecting(let attempt, let error):
            logger.warning("database unreachable, retrying (attempt \(attempt)): \(error ?? "")", metadata: ["event": "database_unreachable"])
        case .planned(let current, let target, let pending):
            logger.info("schema at \(current), target \(target), \(pending.count) pending", metadata: [
                "event": "planned", "version": "\(current)", "target": "\(target)",
            ])
        case .waiting(let holder, let heldFor):
            logger.info("waiting for lock held by \(holder.holderDescription) for \(Int(heldFor))s", metadata: [
                "event": "lock_waiting", "lock_owner": "\(holder.owner)",
            ])
        case .acquired(let replaced):
            if let replaced {
                logger.warning("took over the lock from a dead holder", metadata: ["event": "lock_taken_over", "lock_owner": "\(replaced)"])
            } else {
                logger.info("lock acquired", metadata: ["event": "lock_acquired"])
            }
        case .recovering(let dirty):
            logger.warning("undoing interrupted no-transaction migration \(dirty.version) (\(dirty.name)) with its down SQL", metadata: [
                "event": "dirty_recovery", "version": "\(dirty.version)", "migration": "\(dirty.name)",
            ])
        case .applying(let migration, let index, let count):
            logger.info("applying \(migration.label) (\(index) of \(count))", metadata: [
                "event": "migration_started", "version": "\(migration.version)", "migration": "\(migration.label)",
            ])
        case .applied(let migration, let duration):
            logger.info("applied \(migration.label) in \(Int(duration.rounded()))ms", metadata: [
                "event": "migration_applied", "version": "\(migration.version)", "migration": "\(migration.label)",
                "duration_ms": "\(Int(duration.rounded()))",
            ])
        case .retrying(let migration, let reason):
            logger.warning("retrying \(migration.label): \(reason)", metadata: [
                "event": "migration_retry", "version": "\(migration.version)", "migration": "\(migration.label)",
            ])
        case .released:
            logger.debug("lock released", metadata: ["event": "lock_released"])
        case .releaseFoundOtherOwner(let holder):
            logger.warning("lock was no longer ours at release (now \(holder.map(\.holderDescription) ?? "free"))", metadata: [
                "event": "lock_lost",
            ])
        case .ready(let version, let ahead):
            if ahead {
                logger.notice("ready: schema at \(version), ahead of this release's target; nothing applied (to go back: schemagate rollback)", metadata: [
                    "event": "ready", "version": "\(version)",
                ])
            } else {
                logger.info("ready: schema at \(version)", metadata: ["event": "ready", "version": "\(version)"])
            }
        }
    }
}
