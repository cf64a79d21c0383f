import PQ
import SchemagateStore

/// What `schemagate daemon` was told.
public struct SidecarConfiguration: Sendable {
    public enum RegressionPolicy: String, Sendable, CaseIterable {
        /// Log a warning and report not ready; keep running.
        case warn
        /// Exit, so that units bound to the sidecar stop.
        case exit
    }

    public var migrator: Migrator.Configuration
    public var migrationsPath: String
    public var onRegression: RegressionPolicy
    /// How often the version is re-read after ready.
    public var watchInterval: Duration
    /// How far each sign of progress extends systemd's start timeout.
    public var timeoutExtension: Duration
    /// Where the state for `schemagate reload` is kept (nil: nowhere).
    public var stateFile: StateFile?
    /// Resolves the connection string again (flag, environment, credential file), on each reload:
    /// a rotated password takes effect without a restart. Nil: the string never changes.
    public var connectionSource: (@Sendable () throws -> ConnectionString)?

    public init(migrator: Migrator.Configuration, migrationsPath: String, onRegression: RegressionPolicy = .warn,
                watchInterval: Duration = .seconds(2), timeoutExtension: Duration = .seconds(30), stateFile: StateFile? = nil,
                connectionSource: (@Sendable () throws -> ConnectionString)? = nil) {
        self.stateFile = stateFile
        self.connectionSource = connectionSource
        self.migrator = migrator
        self.migrationsPath = migrationsPath
        self.onRegression = onRegression
        self.watchInterval = watchInterval
        self.timeoutExtension = timeoutExtension
    }
}

/// Why the sidecar exits non-zero: one line, and the code the unit's `RestartPreventExitStatus=` lists.
public struct SidecarFailure: Error, Sendable, CustomStringConvertible {
    public let exitCode: Int32
    public let message: String

    public init(exitCode: Int32, message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String { message }
}
