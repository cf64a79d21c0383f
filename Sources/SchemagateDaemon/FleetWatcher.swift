import PQ
import SchemagateStore

/// After ready: the fleet heartbeat and the re-read of the version, one statement per tick on a
/// connection of its own (the one the version watch always had), remade after errors.
final class FleetWatcher: @unchecked Sendable {
    // @unchecked: owned by the sidecar's loop, used by one task at a time (the deregistration at
    // the end runs after the loop is done with it).
    private(set) var configuration: Migrator.Configuration
    private var store: SchemaStore?

    init(configuration: Migrator.Configuration) {
        self.configuration = configuration
    }

    /// The version and the live fleet after beating as `registration`; nil when the database
    /// cannot be read right now.
    func view(beat registration: FleetRegistration?) async -> FleetView? {
        do {
            return try await connected().fleetView(beat: registration)
        } catch {
            close()
            return nil
        }
    }

    /// A clean stop removes our row at once, so a contract migration waiting for us runs now.
    func deregister(instance: String) async {
        do {
            try await connected().deregister(instance: instance)
        } catch {
            // Not fatal: the row expires with one lease.
        }
        close()
    }

    private func connected() async throws -> SchemaStore {
        if let store { return store }
        let connection = try await Connection.connect(configuration.connectionString, applicationName: "schemagate-watch")
        let made = SchemaStore(connection: connection, configuration: configuration.store)
        store = made
        return made
    }

    /// From now on connects as `configuration` says (a reload re-read the database URL).
    func use(_ configuration: Migrator.Configuration) {
        close()
        self.configuration = configuration
    }

    func close() {
        store?.connection.close()
        store = nil
    }
}
