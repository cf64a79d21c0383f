import PQ
import SchemagateStore

/// Re-reads the schema version after ready, on a connection of its own that it remakes after errors.
struct VersionWatcher {
    let configuration: Migrator.Configuration
    private var store: SchemaStore?

    init(configuration: Migrator.Configuration) {
        self.configuration = configuration
    }

    /// The current version, or nil when the database cannot be read right now.
    mutating func version() async -> Int64? {
        do {
            if store == nil {
                let connection = try await Connection.connect(configuration.connectionString, applicationName: "schemagate-watch")
                store = SchemaStore(connection: connection, configuration: configuration.store)
            }
            return try await store!.snapshot().version
        } catch {
            close()
            return nil
        }
    }

    mutating func close() {
        store?.connection.close()
        store = nil
    }
}
