import SchemagateCore

/// Where schemagate keeps its rows and how its migration transactions are bounded.
public struct StoreConfiguration: Sendable {
    public var schema: String
    public var settingsTable: String
    public var historyTable: String
    /// The fleet registry: one row per live daemon, scoped by settings table like history.
    public var fleetTable: String
    /// How long a lock record stays valid without renewal.
    public var lease: Duration
    /// `lock_timeout` for each migration transaction: a migration that cannot get its table
    /// locks gives up and is retried, instead of queueing while blocking all traffic behind it.
    public var ddlLockTimeout: Duration
    /// How long traffic may wait behind a migration statement before it is cancelled and retried.
    public var governor: GovernorSettings

    /// The shortest lease the renewer (every third of it, on its own connection) can keep.
    public static let shortestLease: Duration = .seconds(1)
    /// The longest lease and `--ddl-lock-timeout`. Both become PostgreSQL timeouts in whole
    /// milliseconds, which stop at 2^31-1 (about 596 h): a longer one would be refused by the
    /// server only once a migration had begun. A day is far beyond any sensible value.
    public static let longestTimeout: Duration = .seconds(24 * 3600)
    /// The shortest `--ddl-lock-timeout`: 0 would mean no `lock_timeout` at all to PostgreSQL.
    public static let shortestDDLLockTimeout: Duration = .milliseconds(10)

    public init(
        schema: String = "public", settingsTable: String = "schemagate_settings",
        historyTable: String = "schemagate_history", fleetTable: String = "schemagate_fleet",
        lease: Duration = .seconds(15), ddlLockTimeout: Duration = .seconds(5),
        governor: GovernorSettings = GovernorSettings()
    ) {
        self.schema = schema
        self.settingsTable = settingsTable
        self.historyTable = historyTable
        self.fleetTable = fleetTable
        self.lease = lease
        self.ddlLockTimeout = ddlLockTimeout
        self.governor = governor
    }
}

/// The settings table's keys.
enum SettingsKey {
    static let schemaVersion = "schema_version"
    static let migrationLock = "migration_lock"
    static let lastFailure = "last_failure"
}

/// The NOTIFY channel on which a holder announces version changes and releases.
public let versionChannel = "schemagate"

extension Duration {
    /// Whole milliseconds, as PostgreSQL settings and intervals take them.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
