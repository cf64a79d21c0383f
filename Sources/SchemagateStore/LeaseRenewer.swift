import Logging
import PQ
import SchemagateCore

/// Keeps the lock's lease fresh from a connection of its own while the holder's connection is
/// busy running a (possibly long) migration. Stops when cancelled or when the record is not ours.
public struct LeaseRenewer: Sendable {
    let configuration: Migrator.Configuration
    let owner: String
    let logger: Logger

    public init(configuration: Migrator.Configuration, owner: String, logger: Logger) {
        self.configuration = configuration
        self.owner = owner
        self.logger = logger
    }

    /// Runs `body` while the lease is renewed beside it (operator commands holding the lock).
    public func renewing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let task = Task { await run() }
        defer { task.cancel() }
        return try await body()
    }

    public func run() async {
        let interval = configuration.store.lease / 3
        var store: SchemaStore?
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            do {
                if store == nil {
                    let connection = try await Connection.connect(configuration.connectionString, applicationName: "schemagate-lease")
                    store = SchemaStore(connection: connection, configuration: configuration.store)
                }
                if try await store!.renewLock(owner: owner) == false {
                    logger.debug("lease renewal found the lock record is no longer ours (released, or taken over)")
                    break
                }
                // A long migration must not let the holder's own fleet row expire.
                if let registration = configuration.registration(state: "migrating") {
                    _ = try await store!.fleetView(beat: registration)
                }
            } catch {
                logger.debug("lease renewal failed; retrying", metadata: ["error": "\(error)"])
                store?.connection.close()
                store = nil
            }
        }
        store?.connection.close()
    }
}
