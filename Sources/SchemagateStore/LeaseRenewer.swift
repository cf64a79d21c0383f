import Logging
import PQ
import SchemagateCore

/// Keeps the lock's lease fresh from a connection of its own while the holder's connection is
/// busy running a (possibly long) migration. Stops when cancelled or when the record is not ours.
/// With a governor watch it is also the governor's eyes: while a migration statement runs it
/// samples the locks around that statement's backend (every 50 ms, 20 ms while it makes someone
/// wait: `GovernorWatch.nextLook`).
public struct LeaseRenewer: Sendable {
    let configuration: Migrator.Configuration
    let owner: String
    let logger: Logger
    let watch: GovernorWatch?

    /// The application_name of the lease (and watching) connection.
    public static let applicationName = "schemagate-lease"

    public init(configuration: Migrator.Configuration, owner: String, logger: Logger, watch: GovernorWatch? = nil) {
        self.configuration = configuration
        self.owner = owner
        self.logger = logger
        self.watch = watch
    }

    /// Runs `body` while the lease is renewed beside it (operator commands holding the lock).
    public func renewing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let task = Task { await run() }
        defer { task.cancel() }
        return try await body()
    }

    public func run() async {
        let renewal = configuration.store.lease / 3
        var store: SchemaStore?
        var renewed = ContinuousClock.now
        var beaten = false
        // Without a watch nothing needs the connection before the first renewal.
        var first = watch != nil
        while !Task.isCancelled {
            if !first { try? await Task.sleep(for: watch?.nextLook ?? renewal) }
            first = false
            if Task.isCancelled { break }
            do {
                if store == nil {
                    let connection = try await Connection.connect(configuration.connectionString, applicationName: Self.applicationName)
                    store = SchemaStore(connection: connection, configuration: configuration.store)
                    watch?.connected()
                }
                let renewing = ContinuousClock.now - renewed >= renewal
                if renewing {
                    if try await store!.renewLock(owner: owner) == false {
                        logger.debug("lease renewal found the lock record is no longer ours (released, or taken over)")
                        break
                    }
                    renewed = .now
                }
                // A long migration must not let the holder's own fleet row expire. The row lives
                // for one lease: a beat at once (the row says "migrating") and then with each
                // renewal keeps it, where one per sample would cost the server 20 statements a second.
                if renewing || !beaten, let registration = configuration.registration(state: "migrating") {
                    _ = try await store!.fleetView(beat: registration)
                    beaten = true
                }
                if let watch, let target = watch.target(serverRecordsWaitStart: store!.connection.serverVersion >= 140000) {
                    watch.observe(try await store!.look(at: target.backendPID), sequence: target.sequence)
                }
            } catch {
                if Task.isCancelled { break }
                watch?.lost()
                logger.debug("lease connection failed; reconnecting", metadata: ["error": "\(error)"])
                store?.connection.close()
                store = nil
            }
        }
        watch?.finish()
        store?.connection.close()
    }
}
