import ArgumentParser
import SchemagateCore
import SchemagateStore

/// `schemagate unlock`: breaks a lock whose holder is gone.
struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock", abstract: "Break a migration lock whose holder is gone (--force for one that looks alive)."
    )

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Break the lock even though its holder looks alive.") var force = false

    func run() async throws {
        let store = try await database.openStore()
        defer { store.connection.close() }
        do {
            guard try await store.tablesExist() else {
                print("no migration lock is held")
                return
            }
            let snapshot: LockSnapshot
            do {
                snapshot = try await store.snapshot()
            } catch let problem as StoredRecordProblem where problem.key == "migration_lock" {
                // A record nobody can read cannot be judged alive or dead: only --force breaks it.
                guard force else { throw CommandFailure(.invalidMigrations, problem.description) }
                _ = try await store.breakLock(expectedOwner: nil)
                print("broke an unreadable migration lock record: \(problem.text.prefix(120))")
                return
            }
            guard let lock = snapshot.lock else {
                print("no migration lock is held")
                return
            }
            let age = (snapshot.now - lock.takenAt).wholeSeconds
            if !snapshot.lockIsStale && !force {
                let lease = (lock.expiresAt - snapshot.now).wholeSeconds
                throw CommandFailure(.lockHeld, "the lock is held by \(lock.holderDescription) for \(age)s and looks alive (lease valid \(lease)s more\(snapshot.holderSessionAlive == true ? ", session connected" : "")); stop that instance first, or pass --force")
            }
            guard let removed = try await store.breakLock(expectedOwner: lock.owner) else {
                print("the lock was released meanwhile")
                return
            }
            print("broke the migration lock held by \(removed.holderDescription) for \(age)s (instance \(removed.owner))")
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
    }
}
