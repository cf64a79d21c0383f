import PQ
import SchemagateCore

/// `unlock` beside the lock protocol: it never takes the lock, it judges the record the way
/// waiters do and deletes it.
public struct LockBreaker: Sendable {
    public let connectionString: ConnectionString
    public let store: StoreConfiguration

    public init(connectionString: ConnectionString, store: StoreConfiguration) {
        self.connectionString = connectionString
        self.store = store
    }

    /// `unlock`: deletes the lock record when its holder is gone, judged exactly as waiters judge
    /// it (`LockSnapshot.lockIsStale`: lease expired, or its visible session ended). A holder that
    /// looks alive is refused (exit 73) unless `force`; an unreadable record too (exit 65). It
    /// never creates the tables, and the delete names the owner it judged, so a holder that took
    /// the lock meanwhile is left alone.
    public func unlock(force: Bool) async throws(MigrateError) -> UnlockOutcome {
        let store: SchemaStore
        do {
            store = SchemaStore(connection: try await Connection.connect(connectionString), configuration: self.store)
        } catch {
            throw Self.failure(error, settingsTable: self.store.settingsTable)
        }
        defer { store.connection.close() }
        do {
            guard try await store.tablesExist() else { return .noLock }
            let snapshot: LockSnapshot
            do {
                snapshot = try await store.snapshot()
            } catch let problem as StoredRecordProblem where problem.key == SettingsKey.migrationLock {
                // A record nobody can read cannot be judged alive or dead: only force breaks it.
                guard force else { throw MigrateError.storedRecord(problem) }
                _ = try await store.breakLock(expectedOwner: nil)
                return .brokeUnreadable(String(problem.text.prefix(120)))
            }
            guard let lock = snapshot.lock else { return .noLock }
            let age = snapshot.now - lock.takenAt
            if !snapshot.lockIsStale && !force {
                let lease = (lock.expiresAt - snapshot.now).wholeSeconds
                throw MigrateError.lockAlive("the lock is held by \(lock.holderDescription) for \(age.wholeSeconds)s and looks alive (lease valid \(lease)s more\(snapshot.holderSessionAlive == true ? ", session connected" : "")); stop that instance first, or pass --force")
            }
            guard let removed = try await store.breakLock(expectedOwner: lock.owner) else { return .releasedMeanwhile }
            return .broke(removed, heldForSeconds: age)
        } catch {
            throw Self.failure(error, settingsTable: self.store.settingsTable)
        }
    }

    /// Any error of a one-shot statement as the `MigrateError` it stands for; a transient one
    /// means the database could not be reached.
    static func failure(_ error: any Error, settingsTable: String) -> MigrateError {
        switch MigrateError.classify(error, settingsTable: settingsTable) {
        case .permanent(let failure): return failure
        case .transient(let message): return .unavailable(message)
        }
    }
}
