import PQ
import SchemagateStore

extension DatabaseOptions {
    /// One connection for a one-shot command; a failure becomes its one-line error and exit code.
    func openStore() async throws -> SchemaStore {
        let configuration = try storeConfiguration()
        do {
            let connection = try await Connection.connect(try connectionString())
            return SchemaStore(connection: connection, configuration: configuration)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw Self.failure(error, settingsTable: configuration.settingsTable)
        }
    }

    static func failure(_ error: any Error, settingsTable: String) -> CommandFailure {
        switch MigrateError.classify(error, settingsTable: settingsTable) {
        case .permanent(let failure): return CommandFailure(failure.exitCode, failure.description)
        case .transient(let message): return CommandFailure(.unavailable, "database unreachable: \(message)")
        }
    }
}
