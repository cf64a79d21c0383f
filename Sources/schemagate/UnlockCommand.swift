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
        let breaker = LockBreaker(connectionString: try database.connectionString(), store: try database.storeConfiguration())
        let outcome: UnlockOutcome
        do {
            outcome = try await breaker.unlock(force: force)
        } catch {
            throw CommandFailure(error.exitCode, error.description)
        }
        switch outcome {
        case .noLock: print("no migration lock is held")
        case .releasedMeanwhile: print("the lock was released meanwhile")
        case .broke(let removed, let age):
            print("broke the migration lock held by \(removed.holderDescription) for \(age.wholeSeconds)s (instance \(removed.owner))")
        case .brokeUnreadable(let text): print("broke an unreadable migration lock record: \(text)")
        }
    }
}
