import FoundationEssentials
import SchemagateCore
import SchemagateStore

extension DaemonStatus {
    /// Folds one migrator event into the status the socket reports. `labels` names the folder's
    /// versions (`0003_add_index`) for the pending list; `identity` tells our own lock from another's.
    public mutating func record(_ event: MigratorEvent, labels: [Int64: String], identity: InstanceIdentity, at now: Date) {
        if let text = StatusLine.text(for: event) { message = text }
        if case .progress(let now) = event { progress = now } else { progress = nil }
        switch event {
        case .connecting(_, let error):
            enter(.connecting, at: now)
            if let error { lastError = error }
        case .planned(let current, let target, let pending):
            currentVersion = current
            targetVersion = target
            self.pending = pending.map { Pending(version: $0, name: labels[$0] ?? String($0)) }
        case .waiting(let holder, let heldFor):
            enter(.waiting, at: now)
            // The lock's age is in `lock`, kept current; a count frozen in the words would mislead.
            message = "waiting for lock held by \(holder.holderDescription)"
            lock = Lock(owner: holder.owner, host: holder.host, pid: holder.pid,
                        heldSince: now.addingTimeInterval(-heldFor), ours: false)
        case .acquired:
            enter(.migrating, at: now)
            lock = Lock(owner: identity.id, host: identity.host, pid: identity.pid, heldSince: now, ours: true)
        case .recovering, .applying, .rollingBack:
            enter(.migrating, at: now)
            step = message
        case .rolledBack(let step, _):
            currentVersion = step.resultingVersion
        case .applied(let migration, _):
            currentVersion = migration.version
            pending.removeAll { $0.version <= migration.version }
            lastError = nil
        case .retrying(_, let reason):
            lastError = reason
        case .governorCancelled(_, let cause, _), .governorGaveUp(_, let cause, _), .rollbackGovernorCancelled(_, let cause, _):
            lastError = cause.description
        case .progress(let progress):
            // "applying 0003_add_index (1 of 1): CREATE INDEX CONCURRENTLY, building index: … 42% (3s) (line 2)"
            message = step + ": " + progress.activity + (progress.line.map { " (line \($0))" } ?? "")
        case .released, .releaseFoundOtherOwner:
            lock = nil
        case .lostLock:
            lock = nil
            enter(.waiting, at: now)
        case .contractWaiting(let waits):
            contractWaits = waits.map(DaemonStatus.ContractWait.init(wait:))
        case .ready(let version, let ahead):
            enter(.ready, at: now)
            currentVersion = version
            pending = []
            lock = nil
            lastError = nil
            let beyond = ahead ? " (ahead of this release's target \(targetVersion.map(String.init) ?? "?"))" : ""
            message = "ready: schema at \(version)\(beyond)"
        }
    }
}

extension DaemonStatus.ContractWait {
    init(wait: ContractGate.Wait) {
        self.init(version: wait.migration.version, name: wait.migration.label, message: wait.description,
                  holders: wait.holders.map { "\($0.label) (release \($0.release), target \($0.target))" })
    }
}
