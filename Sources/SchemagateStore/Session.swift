import FoundationEssentials
import Logging
import PQ
import SchemagateCore

/// The migrator's connection: made (and the tables bootstrapped) on first use, dropped after a
/// transient error so that the next use reconnects. Errors are sorted here into transient ones
/// (retry with backoff) and permanent ones (a `MigrateError` with its exit code).
final class Session: @unchecked Sendable {
    // @unchecked: a Session belongs to one migrate run and is used by that task alone.
    let configuration: Migrator.Configuration
    let logger: Logger
    let onEvent: @Sendable (MigratorEvent) -> Void
    private var current: SchemaStore?
    /// Whether `current` is set up to wait and hold the lock (visibility known, LISTEN, version row).
    private var joined = false
    /// Whether schemagate's tables are known to be present, in their current layout, on `current`.
    private var tablesVerified = false
    private var attempts = 0
    private(set) var sessionVisible = false

    init(configuration: Migrator.Configuration, logger: Logger, onEvent: @escaping @Sendable (MigratorEvent) -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.onEvent = onEvent
    }

    /// The connection, enough to read the state: `retrying` makes the tables when a read finds
    /// them missing, `store()` before anything is written. The fast path (schema at the target)
    /// costs a connection and two statements (the state, and the fleet's read with our heartbeat).
    func readingStore() async throws -> SchemaStore {
        if let current { return current }
        attempts += 1
        let connection = try await Connection.connect(configuration.connectionString)
        let store = SchemaStore(connection: connection, configuration: configuration.store)
        logger.debug("connected", metadata: ["backend_pid": "\(connection.backendPID)"])
        current = store
        joined = false
        tablesVerified = false
        attempts = 0
        return store
    }

    /// Makes (or brings to the current layout) schemagate's tables once per connection.
    private func verifyTables(_ store: SchemaStore) async throws {
        if tablesVerified { return }
        try await store.ensureTables()
        tablesVerified = true
    }

    /// The connection, set up to take part in the fleet protocol: the tables and the version row
    /// exist, and a direct session is visible to others and LISTENs.
    func store() async throws -> SchemaStore {
        let store = try await readingStore()
        if joined { return store }
        try await verifyTables(store)
        try await store.ensureVersionRow()
        sessionVisible = (try? await store.sessionIsVisible()) ?? false
        if sessionVisible {
            // Our own server session: what is prepared in it stays ours.
            store.prepareStatements()
            // A direct session can sleep on LISTEN and wake the moment the holder commits or
            // releases; through a pooler LISTEN is not ours to rely on, so waiters poll.
            // client_connection_check_interval (14+): a killed holder's long statement, even a
            // no-transaction one, is aborted. One round trip for both.
            let connection = store.connection
            var setUp = "LISTEN \(connection.escapeIdentifier(versionChannel))"
            if connection.serverVersion >= 140000 { setUp += "; SET client_connection_check_interval = 250" }
            try await connection.execute(setUp)
        }
        logger.debug("joined the fleet protocol", metadata: ["session_visible": "\(sessionVisible)"])
        joined = true
        return store
    }

    /// What taking up the holder's turn gave: the connection, our lock record pointed at it, or
    /// the result that ends the turn at once.
    enum HolderStore {
        case ready(SchemaStore)
        case ended(LockProtocol.MigrationResult)
    }

    /// The connection as the lock holder's: the record (still ours, or lost) points at this
    /// session, so waiters can see it alive.
    func holderStore(owner: String) async throws(MigrateError) -> HolderStore {
        do {
            let store = try await store()
            return try await store.adoptLock(owner: owner, sessionVisible: sessionVisible) ? .ready(store) : .ended(.lockLost(by: nil))
        } catch {
            return .ended(.interrupted(try transient(error)))
        }
    }

    /// Retries `body` on transient errors with backoff until `lockWait` passes without success.
    /// `body` gets a `readingStore()`. Checking for the tables costs a fresh backend about 2 ms of
    /// catalog reads, so it is done only when `body` finds a table or column missing (a database
    /// schemagate has not run in yet, or one from before a layout change): then the tables are
    /// made and `body` runs again. Anything `body` wrote before failing was one statement outside
    /// a transaction, so it failed whole.
    func retrying<T>(_ body: (SchemaStore) async throws -> T) async throws(MigrateError) -> T {
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            do {
                let store = try await readingStore()
                do {
                    return try await body(store)
                } catch let error as PQError where !tablesVerified
                    && (error.sqlState == .undefinedTable || error.sqlState == .undefinedColumn) {
                    try await verifyTables(store)
                    return try await body(store)
                }
            } catch let error as MigrateError {
                throw error
            } catch {
                let message = try transient(error)
                attempt += 1
                if ContinuousClock.now - started >= configuration.lockWait { throw .unavailable(message) }
                onEvent(.connecting(attempt: attempt, lastError: message))
                try? await Task.sleep(for: LockProtocol.backoffDelay(attempt: attempt, ceiling: .seconds(5)).jittered())
                if Task.isCancelled { throw .stopped }
            }
        }
    }

    /// Returns the message of a transient error (and drops the connection so the next use
    /// reconnects); throws the `MigrateError` for a permanent one.
    func transient(_ error: any Error) throws(MigrateError) -> String {
        switch MigrateError.classify(error, settingsTable: configuration.store.settingsTable) {
        case .permanent(let failure):
            throw failure
        case .transient(let message):
            drop()
            return message
        }
    }

    /// Waits `delay`, or less when a NOTIFY arrives on a LISTENing session. Returns the highest
    /// version announced for our settings table meanwhile, if any.
    func pause(_ delay: Duration) async -> Int64? {
        guard sessionVisible, let current else {
            try? await Task.sleep(for: delay)
            return nil
        }
        guard let first = try? await current.connection.nextNotification(timeout: delay) else { return nil }
        var announced = current.announcedVersion(in: first.payload)
        // Drain the burst (one per migration) so the next wait starts clean.
        while let next = try? await current.connection.nextNotification(timeout: .zero) {
            if let version = current.announcedVersion(in: next.payload) { announced = max(announced ?? version, version) }
        }
        return announced
    }

    func drop() {
        current?.connection.close()
        current = nil
        joined = false
    }

    func close() { drop() }
}
