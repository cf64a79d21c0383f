import PQ
import SchemagateStore

extension DatabaseOptions {
    /// One connection for a one-shot command; a failure becomes its one-line error and exit code.
    func openStore(_ locking: LockingOptions? = nil) async throws -> SchemaStore {
        let configuration = try storeConfiguration(locking)
        do {
            let connection = try await Connection.connect(try connectionString())
            return SchemaStore(connection: connection, configuration: configuration)
        } catch {
            throw Self.failure(error, settingsTable: configuration.settingsTable)
        }
    }

    /// The one-line failure for any error met while talking to the database (a `CommandFailure`
    /// passes through as it is).
    static func failure(_ error: any Error, settingsTable: String) -> CommandFailure {
        if let failure = error as? CommandFailure { return failure }
        switch MigrateError.classify(error, settingsTable: settingsTable) {
        case .permanent(let failure): return CommandFailure(failure.exitCode, failure.description)
        case .transient(let message): return CommandFailure(.unavailable, "database unreachable: \(message)")
        }
    }
}
